package vcluster

/*
#include "zz_shims.h"
*/
import "C"

import (
	"io"
	"runtime"
	"time"
	"unsafe"
)

// PortForward is one TCP connection to a port of a pod, tunnelled through
// the API server (pods/portforward, WebSocket v4.channel.k8s.io): an
// io.ReadWriteCloser. Open one per connection to forward. It is used by one
// goroutine at a time, except Cancel, which any goroutine may call before
// Close.
type PortForward struct {
	c *C.vc_port_forward
}

// PortForward opens a connection to port of pod in namespace ns, waiting at
// most timeout (0: the connection's request timeout) for the upgrade.
func (k *Kube) PortForward(ns, pod string, port uint16, timeout time.Duration) (*PortForward, error) {
	defer runtime.KeepAlive(k)
	var cs cstrings
	defer cs.free()
	pf := &PortForward{}
	if _, err := vc_port_forward_open(&pf.c, k.handle(), cs.str(ns), cs.str(pod), C.uint16_t(port),
		C.int32_t(timeout/time.Millisecond)); err != nil {
		return nil, err
	}
	runtime.SetFinalizer(pf, (*PortForward).Close)
	return pf, nil
}

func (pf *PortForward) handle() *C.vc_port_forward {
	if pf == nil || pf.c == nil {
		panic("vcluster: use of a closed PortForward")
	}
	return pf.c
}

// ReadTimeout reads what the pod sent, waiting at most timeout (< 0: no
// limit). io.EOF once the pod closed the connection; a Timeout *Error when
// nothing came in time; the runtime's message as an *Error when the forward
// failed.
func (pf *PortForward) ReadTimeout(p []byte, timeout time.Duration) (int, error) {
	defer runtime.KeepAlive(pf)
	if len(p) == 0 {
		return 0, nil
	}
	ms := C.int32_t(-1)
	if timeout >= 0 {
		ms = C.int32_t(timeout / time.Millisecond)
	}
	var n C.size_t
	rc, err := vc_port_forward_read(pf.handle(), unsafe.Pointer(&p[0]), C.size_t(len(p)), &n, ms)
	if err != nil {
		return 0, err
	}
	if Status(rc) == ITEROVER {
		return 0, io.EOF
	}
	return int(n), nil
}

// Read implements io.Reader (no time limit).
func (pf *PortForward) Read(p []byte) (int, error) { return pf.ReadTimeout(p, -1) }

// Write implements io.Writer: all of p, or an error (no time limit).
func (pf *PortForward) Write(p []byte) (int, error) {
	defer runtime.KeepAlive(pf)
	if len(p) == 0 {
		return 0, nil
	}
	if _, err := vc_port_forward_write(pf.handle(), unsafe.Pointer(&p[0]), C.size_t(len(p)), -1); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Fd is the socket under the stream, for polling (read with timeout 0 until
// a Timeout first: bytes may wait inside).
func (pf *PortForward) Fd() (int, error) {
	defer runtime.KeepAlive(pf)
	rc, err := vc_port_forward_get_fd(pf.handle())
	return int(rc), err
}

// Splice copies both ways between file descriptor fd and the pod until
// either side closes (idle 0: no idle limit).
func (pf *PortForward) Splice(fd int, idle time.Duration) error {
	defer runtime.KeepAlive(pf)
	_, err := vc_port_forward_splice(pf.handle(), C.int(fd), C.int32_t(idle/time.Millisecond))
	return err
}

// Cancel makes a blocked Read, Write or Splice return ErrCanceled.
func (pf *PortForward) Cancel() error {
	defer runtime.KeepAlive(pf)
	_, err := vc_port_forward_cancel(pf.handle())
	return err
}

// Close closes the connection (idempotent).
func (pf *PortForward) Close() error {
	if pf.c != nil {
		vc_port_forward_free(pf.c)
		pf.c = nil
		runtime.SetFinalizer(pf, nil)
	}
	return nil
}
