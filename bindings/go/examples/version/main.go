// Command version prints the libvcluster it runs on: the smallest program
// on the binding. Built with -tags vcluster_rpath it runs without
// LD_LIBRARY_PATH (tests/bindings/go.sh checks that).
//
//	go build -tags vcluster_rpath ./examples/version && ./version
package main

import (
	"fmt"

	"github.com/libvcluster/libvcluster/bindings/go/vcluster"
)

func main() {
	n, s := vcluster.Version()
	fmt.Printf("libvcluster %s (0x%06x), bindings generated from 0x%06x\n", s, n, vcluster.GeneratedVersion)
}
