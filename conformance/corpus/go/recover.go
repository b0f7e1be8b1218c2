// Runtime panics raised by hardware faults and recovered: a nil pointer
// dereference (SIGSEGV inside the runtime) and an integer division by
// zero, each caught with recover() and printed with its runtime error text.
package main

import (
	"fmt"
	"os"
	"runtime"
)

type pair struct{ a, b int }

//go:noinline
func deref(p *pair) int { return p.b }

//go:noinline
func divide(a, b int) int { return a / b }

// catch runs f and returns the runtime error it panicked with.
func catch(f func()) (err runtime.Error) {
	defer func() {
		r := recover()
		if e, ok := r.(runtime.Error); ok {
			err = e
		}
	}()
	f()
	return nil
}

func main() {
	var p *pair
	err := catch(func() { fmt.Println(deref(p)) })
	if err == nil {
		fmt.Println("FAIL: nil dereference did not panic")
		os.Exit(2)
	}
	fmt.Println("recovered:", err.Error())

	zero := 0
	err = catch(func() { fmt.Println(divide(7, zero)) })
	if err == nil {
		fmt.Println("FAIL: division by zero did not panic")
		os.Exit(3)
	}
	fmt.Println("recovered:", err.Error())

	// The program goes on normally after both.
	fmt.Println("after recovery:", deref(&pair{1, 2}), divide(7, 2))
}
