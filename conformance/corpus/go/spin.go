// A goroutine spinning without a single call while main sleeps: only
// preemption of the spinning thread (Go's sysmon and SIGURG, or another
// OS thread) lets main wake up. Must finish; prints nothing about x,
// whose value depends on timing.
package main

import (
	"fmt"
	"time"
)

var x uint64

func spin() {
	for {
		x++
	}
}

func main() {
	go spin()
	time.Sleep(50 * time.Millisecond)
	fmt.Println("main woke up while a goroutine spins")
}
