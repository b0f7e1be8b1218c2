-- Hello world in Haskell (GHC, single-threaded RTS).
import System.Environment (getArgs, lookupEnv)
main :: IO ()
main = do
  args <- getArgs
  g <- lookupEnv "GREETING"
  putStrLn (unwords ("hello" : args))
  putStrLn ("GREETING=" ++ maybe "(unset)" id g)
