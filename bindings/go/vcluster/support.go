package vcluster

/*
#include <stdlib.h>
#include "zz_shims.h"
*/
import "C"

import (
	"sync"
	"unsafe"
)

// takeError turns a status < 0 and the error the shim copied into an *Error.
func takeError(rc C.int, e *C.vcgo_error, fn string) error {
	if rc >= 0 {
		return nil
	}
	defer C.vcgo_error_release(e)
	code := Status(e.code)
	if code == OK {
		code = Status(rc)
	}
	return &Error{
		Code:       code,
		Class:      ErrorClass(e.klass),
		HTTPStatus: int(e.http_status),
		Reason:     C.GoString(e.reason),
		Message:    C.GoString(e.message),
		Func:       fn,
	}
}

// cstrings collects C strings made for one call and frees them together.
type cstrings []unsafe.Pointer

// str returns s as a C string (freed by free()).
func (c *cstrings) str(s string) *C.char {
	p := C.CString(s)
	*c = append(*c, unsafe.Pointer(p))
	return p
}

// opt is str, but "" gives NULL (the library's default).
func (c *cstrings) opt(s string) *C.char {
	if s == "" {
		return nil
	}
	return c.str(s)
}

// array returns a NULL-terminated C array of C strings, or NULL when empty.
func (c *cstrings) array(ss []string) **C.char {
	if len(ss) == 0 {
		return nil
	}
	n := C.size_t(len(ss) + 1)
	arr := (**C.char)(C.calloc(n, C.size_t(unsafe.Sizeof((*C.char)(nil)))))
	*c = append(*c, unsafe.Pointer(arr))
	s := unsafe.Slice(arr, len(ss)+1)
	for i, v := range ss {
		s[i] = c.str(v)
	}
	return arr
}

func (c *cstrings) free() {
	for _, p := range *c {
		C.free(p)
	}
	*c = nil
}

// takeBuf copies a filled vc_buf into a Go string and disposes of it.
func takeBuf(b *C.vc_buf) string {
	defer vc_buf_dispose(b)
	if b.ptr == nil {
		return ""
	}
	return C.GoStringN(b.ptr, C.int(b.size))
}

func gostr(p *C.char) string {
	if p == nil {
		return ""
	}
	return C.GoString(p)
}

var (
	initOnce sync.Once
	initErr  error
)

// ensureInit makes the refcounted vc_global_init call once per process; it
// is never balanced (handles may be finalized at any time).
func ensureInit() error {
	initOnce.Do(func() {
		_, initErr = vc_global_init(nil)
	})
	return initErr
}

// Version is the runtime library version (number 0xMMmmpp and string).
func Version() (uint32, string) {
	var s *C.char
	n := vc_version(&s)
	return uint32(n), gostr(s)
}

// ClearError resets the calling thread's last error (vc_error_clear). The
// wrappers never need it: errors are copied inside each call.
func ClearError() {
	vc_error_clear()
}

// lastError reads vc_error_last() on whatever thread runs it: only
// meaningful in tests that lock the OS thread.
func lastError() (Status, string) {
	e := vc_error_last()
	return Status(e.code), gostr(e.message)
}

// String is the library's description of the code (vc_strerror).
func (s Status) String() string {
	return gostr(vc_strerror(C.int(s)))
}

// Free releases memory the library allocated (vc_free). NULL-safe.
func Free(p unsafe.Pointer) {
	vc_free(p)
}
