// crypto/rand and math/rand seeded from it: the output depends on the
// entropy source (the block context under qvm), so it is checked against
// a golden file.
package main

import (
	crand "crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	mrand "math/rand"
	"os"
)

func main() {
	var b [32]byte
	if _, err := crand.Read(b[:]); err != nil {
		fmt.Println("FAIL: crypto/rand:", err)
		os.Exit(2)
	}
	fmt.Println("crypto/rand:", hex.EncodeToString(b[:]))
	seed := int64(binary.LittleEndian.Uint64(b[:8]))
	r := mrand.New(mrand.NewSource(seed))
	fmt.Print("math/rand:")
	for i := 0; i < 5; i++ {
		fmt.Print(" ", r.Intn(1000))
	}
	fmt.Println()
	fmt.Printf("math/rand float: %.6f\n", r.Float64())
}
