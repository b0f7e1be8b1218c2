-- The conformance contract in Haskell: arguments, environment, stdin, a
-- growing heap structure, the QVM protocol and an exit status.
import qualified Data.ByteString as B
import Data.List (foldl')
import System.Environment (getArgs, lookupEnv)
import System.Exit (ExitCode (..), exitWith)

main :: IO ()
main = do
  args <- getArgs
  let (status, ws) = case args of
        [] -> (0, [])
        (s : rest) -> (read s :: Int, rest)
  putStrLn ("args=" ++ show (length ws))
  mapM_ (\(i, w) -> putStrLn ("arg" ++ show (i :: Int) ++ "=" ++ w)) (zip [1 ..] ws)
  counter <- lookupEnv "DB_COUNTER"
  putStrLn ("counter=" ++ maybe "(unset)" id counter)
  input <- B.getContents
  putStrLn ("stdin_bytes=" ++ show (B.length input))
  putStrLn ("stdin_lines=" ++ show (B.count 10 input))
  -- The list grows one cons cell at a time on the heap.
  let xs = foldl' (\acc i -> (i * i `mod` 1000003) : acc) [] [0 .. 99999 :: Int]
  putStrLn ("heap_sum=" ++ show (sum xs))
  let n = case counter >>= \v -> case reads v of [(k, "")] -> Just k; _ -> Nothing of
        Just k -> k
        Nothing -> 0 :: Int
  putStrLn ("DBW=COUNTER=" ++ show (n + 1))
  putStrLn "DBP=OLD"
  putStrLn "OUT=haskell done"
  exitWith (if status == 0 then ExitSuccess else ExitFailure status)
