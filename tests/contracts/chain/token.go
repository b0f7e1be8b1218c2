// The local chain's token contract (issue 14); token.c documents it.
// Same behaviour and bytes as token.c and token.rs.
package main

import (
	"errors"
	"io/fs"
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

func amountArg(s string) uint64 {
	n, ok := parseU64(s)
	if !ok {
		fail(2, "bad amount\n")
	}
	return n
}

func validName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return len(s) > 0
}

func nameArg(s string) string {
	if !validName(s) {
		fail(2, "bad name\n")
	}
	return s
}

func sender() string {
	s := os.Getenv("QVM_SENDER")
	if !validName(s) {
		fail(2, "bad sender\n")
	}
	return s
}

func balanceOf(name string) uint64 {
	v, err := os.ReadFile("/state/bal_" + name)
	if errors.Is(err, fs.ErrNotExist) || err == nil && len(v) == 0 {
		return 0
	}
	if err != nil {
		fail(3, "cannot read state\n")
	}
	n, ok := parseU64(string(v))
	if !ok {
		fail(3, "bad stored balance\n")
	}
	return n
}

// putBalance is the state change that stores balance for name.
func putBalance(name string, balance uint64) string {
	if balance == 0 {
		return "DBP=bal_" + name + "\n"
	}
	return "DBW=bal_" + name + "=" + strconv.FormatUint(balance, 10) + "\n"
}

func main() {
	args := os.Args[1:]
	method := ""
	if len(args) > 0 {
		method = args[0]
	}
	out := ""
	switch {
	case method == "construct" && len(args) <= 2:
		owner := sender()
		supply := uint64(1000000)
		if len(args) == 2 {
			supply = amountArg(args[1])
		}
		out = putBalance(owner, supply) + "DBW=supply=" + strconv.FormatUint(supply, 10) + "\n"
	case method == "transfer" && len(args) == 3:
		from := sender()
		to := nameArg(args[1])
		amount := amountArg(args[2])
		fromBalance := balanceOf(from)
		if fromBalance < amount {
			fail(1, "insufficient balance\n")
		}
		// To oneself: no balance changes.
		if from != to {
			toBalance := balanceOf(to)
			if toBalance > math.MaxUint64-amount {
				fail(1, "balance overflow\n")
			}
			out = putBalance(from, fromBalance-amount) + putBalance(to, toBalance+amount)
		}
		out += "OUT=transfer " + from + " " + to + " " + strconv.FormatUint(amount, 10) + "\n"
	case method == "balance" && len(args) == 2:
		out = strconv.FormatUint(balanceOf(nameArg(args[1])), 10) + "\n"
	default:
		fail(2, "usage: token construct [SUPPLY] | transfer TO AMOUNT | balance NAME\n")
	}
	os.Stdout.WriteString(out)
}
