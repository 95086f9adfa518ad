// Command etcd is etcd built from the go.etcd.io/etcd/server/v3 module
// (the upstream server/main.go does exactly this).
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
