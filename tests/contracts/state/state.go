// The /state contract of state.c, in Go (os.ReadFile).
package main

import (
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

func errno(err error) int {
	var e syscall.Errno
	if errors.As(err, &e) {
		return int(e)
	}
	return 0
}

func main() {
	var out strings.Builder
	n := 0
	if text, err := os.ReadFile("/state/counter"); err == nil {
		n, _ = strconv.Atoi(strings.TrimSpace(string(text)))
		fmt.Fprintf(&out, "counter=%d", n)
	} else {
		fmt.Fprintf(&out, "counter=ERR%d", errno(err))
	}
	bin, err := os.ReadFile("/state/.hex/00ff")
	if err == nil {
		fmt.Fprintf(&out, " bin=%s", hex.EncodeToString(bin))
	} else {
		fmt.Fprintf(&out, " bin=ERR%d", errno(err))
		bin = nil
	}
	_, missing := os.Open("/state/missing")
	_, write := os.OpenFile("/state/counter", os.O_WRONLY, 0)
	fmt.Fprintf(&out, " missing=%d write=%d\n", errno(missing), errno(write))

	tail := append(append([]byte{}, bin...), 0x00, '\n', '=', ',', 0xff)
	event := append([]byte{0xff, 0x00, '\n'}, bin...)
	fmt.Fprintf(&out, "DBW=counter=%d\n", n+1)
	fmt.Fprintf(&out, "DBWX=00ff=%s\n", hex.EncodeToString(tail))
	fmt.Fprintf(&out, "DBPX=%s,00\n", hex.EncodeToString([]byte("old\n")))
	fmt.Fprintf(&out, "OUTX=%s\n", hex.EncodeToString(event))
	os.Stdout.WriteString(out.String())
}
