//go:build cgo && vcluster_rpath

package vcluster

// With -tags vcluster_rpath the binary records where libvcluster is (an
// rpath from the libvcluster-rpath pkg-config file: the install libdir, or
// the build dir's src/ for an uninstalled build), so it runs without
// LD_LIBRARY_PATH:
//
//	go build -tags vcluster_rpath ./...

/*
#cgo pkg-config: libvcluster-rpath
*/
import "C"
