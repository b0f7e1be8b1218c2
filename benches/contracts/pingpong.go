// Two goroutines hand a token back and forth N times (os.Args[1]) over
// unbuffered channels: each round trip is two goroutine switches, inside
// the Go runtime's scheduler (and its threads, when they block).
package main

import (
	"fmt"
	"os"
	"strconv"
)

func main() {
	rounds := 1000
	if len(os.Args) > 1 {
		if n, err := strconv.Atoi(os.Args[1]); err == nil {
			rounds = n
		}
	}
	ping, pong := make(chan int), make(chan int)
	go func() {
		for v := range ping {
			pong <- v + 1
		}
		close(pong)
	}()
	v := 0
	for i := 0; i < rounds; i++ {
		ping <- v
		v = <-pong
	}
	close(ping)
	fmt.Println(v, "round trips")
}
