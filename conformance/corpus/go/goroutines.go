// Goroutines over the runtime's scheduler: channels, sync.WaitGroup, a
// mutex-protected counter, select with time.After, time.Sleep and a
// buffered pipeline. Every printed figure is a total, independent of how
// the goroutines interleave. A failed self-check exits with its own code.
package main

import (
	"fmt"
	"os"
	"sync"
	"time"
)

func check(ok bool, code int, what string) {
	if !ok {
		fmt.Println("FAIL:", what)
		os.Exit(code)
	}
}

// An unbuffered channel: a producer sends 1..n, the receiver sums.
func unbuffered(n int) int {
	ch := make(chan int)
	go func() {
		for i := 1; i <= n; i++ {
			ch <- i
		}
		close(ch)
	}()
	sum := 0
	for v := range ch {
		sum += v
	}
	return sum
}

// 8 goroutines add to one counter under a mutex.
func counter(workers, each int) int {
	var mu sync.Mutex
	var wg sync.WaitGroup
	total := 0
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				mu.Lock()
				total++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return total
}

// Three stages over buffered channels: generate, square, sum.
func pipeline(n int) int {
	nums := make(chan int, 16)
	squares := make(chan int, 16)
	go func() {
		for i := 1; i <= n; i++ {
			nums <- i
		}
		close(nums)
	}()
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for v := range nums {
				squares <- v * v
			}
		}()
	}
	go func() {
		wg.Wait()
		close(squares)
	}()
	sum := 0
	for v := range squares {
		sum += v
	}
	return sum
}

func main() {
	s := unbuffered(1000)
	check(s == 500500, 2, "unbuffered channel sum")
	fmt.Println("unbuffered channel sum:", s)

	c := counter(8, 10000)
	check(c == 80000, 3, "mutex counter")
	fmt.Println("mutex counter over 8 goroutines:", c)

	p := pipeline(1000)
	check(p == 333833500, 4, "pipeline sum of squares")
	fmt.Println("pipeline sum of squares:", p)

	// Nothing is ever sent on never: time.After wins.
	never := make(chan int)
	select {
	case <-never:
		check(false, 5, "select received from a silent channel")
	case <-time.After(10 * time.Millisecond):
		fmt.Println("select: timeout after 10ms")
	}

	// A ready channel wins over an hour-long timer.
	ready := make(chan int, 1)
	ready <- 7
	select {
	case v := <-ready:
		fmt.Println("select: ready value", v)
	case <-time.After(time.Hour):
		check(false, 6, "select timed out on a ready channel")
	}

	// time.Sleep waits at least its duration on the monotonic clock.
	start := time.Now()
	time.Sleep(20 * time.Millisecond)
	elapsed := time.Since(start)
	check(elapsed >= 20*time.Millisecond, 7, "time.Sleep returned early")
	fmt.Println("time.Sleep(20ms): slept at least 20ms")

	// Timers in goroutines: each sleeps, then reports its index; the sum
	// does not depend on the order they wake in.
	done := make(chan int)
	for i := 1; i <= 5; i++ {
		go func(i int) {
			time.Sleep(time.Duration(i) * time.Millisecond)
			done <- i
		}(i)
	}
	woke := 0
	for i := 0; i < 5; i++ {
		woke += <-done
	}
	check(woke == 15, 8, "sleeping goroutines")
	fmt.Println("sleeping goroutines woke, index sum:", woke)
}
