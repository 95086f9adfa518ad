// Package vcluster binds libvcluster, the embeddable C library for virtual
// Kubernetes clusters.
//
// The low-level layer (zz_generated.go, zz_shims.c, zz_trampolines.c) is
// generated from the C headers by bindings/gen/generate.py: one Go function
// per C function, taking C types, and one C shim per status-returning
// function that copies vc_error_last() inside the same cgo call, so the
// thread-local error can never be read from another OS thread and no
// runtime.LockOSThread is needed. The types in this package (Kube, ...) wrap
// it with Go values, errors usable with errors.As / errors.Is, Close() plus
// finalizers, and runtime.KeepAlive around every call that uses a handle.
//
// Build: cgo finds the library with `pkg-config libvcluster`; for an
// uninstalled build set PKG_CONFIG_PATH=<builddir>/meson-uninstalled and
// LD_LIBRARY_PATH=<builddir>/src (or CGO_LDFLAGS=-Wl,-rpath,<builddir>/src).
//
// Objects are used by one goroutine at a time, as in C; only
// (*Syncer).Wakeup may be called concurrently.
package vcluster
