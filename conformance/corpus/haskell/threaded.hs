-- GHC's threaded runtime (built with -threaded, clock tick on, +RTS -N2):
-- green threads over OS worker threads, MVars, a Chan and threadDelay.
-- Every printed figure is a total, independent of the interleaving; a
-- failed self-check exits with its own code.
import Control.Concurrent
import Control.Concurrent.MVar
import Control.Monad (forM, forM_, replicateM, unless, when)
import Data.IORef
import System.Exit (ExitCode (..), exitWith)

check :: Bool -> Int -> String -> IO ()
check ok code what = unless ok $ do
  putStrLn ("FAIL: " ++ what)
  exitWith (ExitFailure code)

-- A pure workload per thread, forced inside the thread.
work :: Int -> Int
work k = sum [i * i `mod` 7919 | i <- [k * 10000 .. k * 10000 + 9999]]

main :: IO ()
main = do
  caps <- getNumCapabilities
  putStrLn ("capabilities: " ++ show caps)
  threaded <- return rtsSupportsBoundThreads
  check threaded 2 "runtime is not threaded"

  -- forkIO: ten threads, each answers in its own MVar.
  boxes <- forM [1 .. 10] $ \k -> do
    box <- newEmptyMVar
    _ <- forkIO $ do
      let r = work k
      r `seq` putMVar box r
    return box
  results <- mapM takeMVar boxes
  let expected = sum (map work [1 .. 10])
  check (sum results == expected) 3 "forkIO results"
  putStrLn ("forkIO results sum: " ++ show (sum results))

  -- A shared counter behind one MVar, 8 threads x 1000 increments.
  counter <- newMVar (0 :: Int)
  dones <- replicateM 8 newEmptyMVar
  forM_ dones $ \d -> forkIO $ do
    forM_ [1 .. 1000 :: Int] $ \_ -> modifyMVar_ counter (return . (+ 1))
    putMVar d ()
  mapM_ takeMVar dones
  total <- readMVar counter
  check (total == 8000) 4 "MVar counter"
  putStrLn ("MVar counter: " ++ show total)

  -- A Chan from 4 producers to one consumer.
  chan <- newChan
  forM_ [0 .. 3 :: Int] $ \p -> forkIO $ forM_ [1 .. 250] $ \i -> writeChan chan (p * 1000 + i)
  vals <- replicateM 1000 (readChan chan)
  check (sum vals == 1625500) 5 "Chan sum"
  putStrLn ("Chan sum: " ++ show (sum vals))

  -- threadDelay: sleepers wake, the sum of their indices is fixed.
  woke <- newIORef (0 :: Int)
  sleepers <- forM [1 .. 5] $ \i -> do
    d <- newEmptyMVar
    _ <- forkIO $ do
      threadDelay (i * 2000)
      atomicModifyIORef' woke (\s -> (s + i, ()))
      putMVar d ()
    return d
  mapM_ takeMVar sleepers
  w <- readIORef woke
  check (w == 15) 6 "threadDelay sleepers"
  putStrLn ("threadDelay sleepers index sum: " ++ show w)

  -- A bound thread (an OS thread of its own) answers too.
  bound <- newEmptyMVar
  _ <- forkOS $ putMVar bound (work 11)
  b <- takeMVar bound
  check (b == work 11) 7 "forkOS result"
  putStrLn "forkOS: ok"
