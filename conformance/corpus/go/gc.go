// GC-heavy allocation: about 200 MB in 64-byte objects, linked in lists
// that are dropped as soon as they are summed, with explicit runtime.GC
// calls. Prints a checksum of every value written.
package main

import (
	"fmt"
	"os"
	"runtime"
)

type node struct {
	next *node
	vals [7]uint64
}

const (
	listLen = 1000
	lists   = 3300 // 3300 * 1000 * 64 bytes = 211 MB
)

func main() {
	var sum uint64
	var keep *node // one list survives each round, the rest is garbage
	x := uint64(0x9e3779b97f4a7c15)
	for l := 0; l < lists; l++ {
		var head *node
		for i := 0; i < listLen; i++ {
			n := &node{next: head}
			for j := range n.vals {
				x ^= x << 13
				x ^= x >> 7
				x ^= x << 17
				n.vals[j] = x
			}
			head = n
		}
		for n := head; n != nil; n = n.next {
			for _, v := range n.vals {
				sum = sum*31 + v
			}
		}
		if l%500 == 0 {
			keep = head
			runtime.GC()
		}
	}
	runtime.GC()
	count := 0
	for n := keep; n != nil; n = n.next {
		count++
	}
	if count != listLen {
		fmt.Println("FAIL: kept list lost nodes:", count)
		os.Exit(2)
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	if ms.TotalAlloc < 200<<20 {
		fmt.Println("FAIL: allocated less than 200 MiB:", ms.TotalAlloc)
		os.Exit(3)
	}
	if ms.NumGC < 8 {
		fmt.Println("FAIL: fewer collections than runtime.GC calls:", ms.NumGC)
		os.Exit(4)
	}
	fmt.Printf("allocated %d lists of %d nodes\n", lists, listLen)
	fmt.Printf("checksum %016x\n", sum)
}
