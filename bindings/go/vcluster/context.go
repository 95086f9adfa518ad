//go:build cgo

package vcluster

import (
	"context"
	"syscall"
	"time"
)

// Context variants of every blocking call. The lifecycle calls that wait
// (CreateCluster, PauseCluster, ResumeCluster, DeleteCluster) take
// LifecycleOptions.Context and stop within 100 ms of its end; Syncer.Run
// takes one too. The calls here:
//
//   - stop at once when ctx is already done, and when the call fails after
//     ctx ended, report that end (an error matching both ErrCanceled and
//     ctx.Err());
//   - PortForwardContext, ReadContext, WriteContext, SpliceContext,
//     StepContext and ServeFDContext are interrupted when ctx ends (through
//     the thread-safe vc_port_forward_cancel / vc_syncer_wakeup /
//     shutdown(2)), and a ctx deadline bounds their wait;
//   - a single synchronous request (RequestContext, ServerVersionContext,
//     ListClustersContext, ClusterStatusContext, ConnectClusterContext,
//     FindPodContext) cannot be abandoned half-way by libvcluster: it is
//     bounded by the connection's timeout (KubeOptions.Timeout), and ctx is
//     checked before and after it.

// afterFunc is context.AfterFunc whose stop, when f has already started,
// waits for f to return: f (a Wakeup, a Cancel, a shutdown(2)) then never
// runs after the call it interrupts has returned, when the caller may Close
// the handle or the fd (context.AfterFunc's own stop does not wait: a
// Wakeup on a freed syncer was seen under ASan).
func afterFunc(ctx context.Context, f func()) (stop func() bool) {
	done := make(chan struct{})
	s := context.AfterFunc(ctx, func() {
		defer close(done)
		f()
	})
	return func() bool {
		if s() {
			return true
		}
		<-done
		return false
	}
}

// ctxErr is ctx's end as an error the library's callers know: it matches
// ErrCanceled and ctx.Err() with errors.Is.
func ctxErr(ctx context.Context) error {
	if ctx == nil || ctx.Err() == nil {
		return nil
	}
	return &canceledError{err: &Error{Code: ECANCELED, Message: "canceled by its context"}, ctx: ctx.Err()}
}

// after runs the call unless ctx is done, then reports ctx's end over a
// result that came too late.
func after[T any](ctx context.Context, call func() (T, error)) (T, error) {
	var zero T
	if err := ctxErr(ctx); err != nil {
		return zero, err
	}
	v, err := call()
	if cerr := ctxErr(ctx); cerr != nil && err != nil {
		return v, cerr
	}
	return v, err
}

// waitOf is what is left of ctx's deadline, bounded by limit (< 0: none).
func waitOf(ctx context.Context, limit time.Duration) time.Duration {
	d, ok := ctx.Deadline()
	if !ok {
		return limit
	}
	left := time.Until(d)
	if left < time.Millisecond {
		left = time.Millisecond
	}
	if limit >= 0 && limit < left {
		return limit
	}
	return left
}

// RequestContext is Request with a context (see the note above).
func (k *Kube) RequestContext(ctx context.Context, method, path string, body []byte, contentType string) (int, []byte, error) {
	type res struct {
		status int
		body   []byte
	}
	r, err := after(ctx, func() (res, error) {
		st, b, err := k.Request(method, path, body, contentType)
		return res{st, b}, err
	})
	return r.status, r.body, err
}

// ServerVersionContext is ServerVersion with a context.
func (k *Kube) ServerVersionContext(ctx context.Context) (string, error) {
	return after(ctx, k.ServerVersion)
}

// ListClustersContext is ListClusters with a context.
func ListClustersContext(ctx context.Context, host *Kube, hostNamespace string) ([]ClusterInfo, error) {
	return after(ctx, func() ([]ClusterInfo, error) { return ListClusters(host, hostNamespace) })
}

// ClusterStatusContext is ClusterStatus with a context.
func ClusterStatusContext(ctx context.Context, host *Kube, name, hostNamespace string) (ClusterInfo, error) {
	return after(ctx, func() (ClusterInfo, error) { return ClusterStatus(host, name, hostNamespace) })
}

// ConnectClusterContext is ConnectCluster with a context.
func ConnectClusterContext(ctx context.Context, host *Kube, name, hostNamespace, server string) (string, error) {
	return after(ctx, func() (string, error) { return ConnectCluster(host, name, hostNamespace, server) })
}

// FindPodContext is FindPod with a context.
func FindPodContext(ctx context.Context, host *Kube, name, hostNamespace, pod string) (string, int, error) {
	type res struct {
		pod  string
		port int
	}
	r, err := after(ctx, func() (res, error) {
		p, port, err := FindPod(host, name, hostNamespace, pod)
		return res{p, port}, err
	})
	return r.pod, r.port, err
}

// PortForwardContext opens a connection as PortForward does, waiting for the
// upgrade at most until ctx's deadline.
func (k *Kube) PortForwardContext(ctx context.Context, ns, pod string, port uint16) (*PortForward, error) {
	return after(ctx, func() (*PortForward, error) {
		wait := waitOf(ctx, -1)
		if wait < 0 {
			wait = 0 // the connection's request timeout
		}
		return k.PortForward(ns, pod, port, wait)
	})
}

// ReadContext reads as ReadTimeout does, until ctx ends (its deadline, or
// its cancel: then the error matches ErrCanceled and ctx.Err(); the
// connection stays usable).
func (pf *PortForward) ReadContext(ctx context.Context, p []byte) (int, error) {
	for {
		if err := ctxErr(ctx); err != nil {
			return 0, err
		}
		// a slice at a time, so a cancel is seen within 100 ms without
		// cancelling the whole forward
		n, err := pf.ReadTimeout(p, waitOf(ctx, 100*time.Millisecond))
		if IsTimeout(err) {
			continue
		}
		return n, err
	}
}

// WriteContext writes all of p as Write does; when ctx ends first the
// forward is cancelled (a stream cut in the middle of a write is of no
// further use) and the error matches ErrCanceled and ctx.Err().
func (pf *PortForward) WriteContext(ctx context.Context, p []byte) (int, error) {
	if err := ctxErr(ctx); err != nil {
		return 0, err
	}
	stop := afterFunc(ctx, func() { _ = pf.Cancel() })
	n, err := pf.Write(p)
	if !stop() && err != nil {
		return n, ctxErr(ctx)
	}
	return n, err
}

// SpliceContext is Splice until ctx ends (which cancels the forward).
func (pf *PortForward) SpliceContext(ctx context.Context, fd int, idle time.Duration) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	stop := afterFunc(ctx, func() { _ = pf.Cancel() })
	err := pf.Splice(fd, idle)
	if !stop() && err != nil {
		return ctxErr(ctx)
	}
	return err
}

// StepContext is Step whose wait also ends with ctx (vc_syncer_wakeup) or
// at its deadline. ctx's end is returned after the step has run.
func (s *Syncer) StepContext(ctx context.Context, timeout time.Duration) (StepState, error) {
	if err := ctxErr(ctx); err != nil {
		return STEP_IDLE, err
	}
	stop := afterFunc(ctx, func() { _ = s.Wakeup() })
	st, err := s.Step(waitOf(ctx, timeout))
	stop()
	if err == nil {
		err = ctxErr(ctx)
	}
	return st, err
}

// ServeFDContext serves one connection as ServeFD does; when ctx ends the
// connection is shut down (shutdown(2)), which ends the exchange.
func (p *KubeletProxy) ServeFDContext(ctx context.Context, fd int) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	stop := afterFunc(ctx, func() { _ = syscall.Shutdown(fd, syscall.SHUT_RDWR) })
	err := p.ServeFD(fd)
	if !stop() {
		if cerr := ctxErr(ctx); cerr != nil {
			return cerr
		}
	}
	return err
}
