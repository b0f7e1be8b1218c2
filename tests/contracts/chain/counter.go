// The local chain's counter contract (issue 14); counter.c documents it.
// Same behaviour and bytes as counter.c and counter.rs.
package main

import (
	"math"
	"os"
	"strconv"
)

func fail(code int, msg string) {
	os.Stderr.WriteString(msg)
	os.Exit(code)
}

// parseU64 reads a u64 in decimal: 1 to 20 digits, nothing else.
func parseU64(s string) (uint64, bool) {
	n, err := strconv.ParseUint(s, 10, 64) // no sign, space or '_'
	return n, err == nil && len(s) <= 20
}

func storedCounter() uint64 {
	s := os.Getenv("DB_COUNTER")
	if s == "" {
		return 0
	}
	n, ok := parseU64(s)
	if !ok {
		fail(3, "bad stored counter\n")
	}
	return n
}

func main() {
	args := os.Args[1:]
	method := ""
	if len(args) > 0 {
		method = args[0]
	}
	switch {
	case method == "construct" && len(args) == 1:
		os.Stdout.WriteString("DBW=COUNTER=0\n")
	case method == "increment" && len(args) <= 2:
		n := uint64(1)
		if len(args) == 2 {
			var ok bool
			if n, ok = parseU64(args[1]); !ok {
				fail(2, "bad amount\n")
			}
		}
		v := storedCounter()
		if v > math.MaxUint64-n {
			fail(1, "counter overflow\n")
		}
		s := strconv.FormatUint(v+n, 10)
		os.Stdout.WriteString("DBW=COUNTER=" + s + "\nOUT=incremented " + s + "\n" + s + "\n")
	case method == "get" && len(args) == 1:
		os.Stdout.WriteString(strconv.FormatUint(storedCounter(), 10) + "\n")
	default:
		fail(2, "usage: counter construct | increment [N] | get\n")
	}
}
