// The smallest Go contract: the runtime still starts its threads (sysmon,
// the GC workers) before main runs.
package main

import "fmt"

func main() {
	fmt.Println("hello from go")
}
