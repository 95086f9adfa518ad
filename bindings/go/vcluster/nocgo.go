//go:build !cgo

// This file is built only when cgo is off (CGO_ENABLED=0, or no C compiler
// found). libvcluster is a C library, so the package cannot work without
// cgo; instead of a screen of "undefined: Status" errors from the files that
// need it, the build stops here with one line that says what to do.

package vcluster

const _ = "vcluster needs cgo (it binds the C library libvcluster): build with CGO_ENABLED=1, a C compiler and pkg-config finding libvcluster; see doc/bindings.md" + 0
