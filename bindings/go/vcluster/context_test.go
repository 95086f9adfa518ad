package vcluster

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"
)

// A context that is already done: every blocking call returns at once with
// an error matching both ErrCanceled and the context's error.
func TestContextDoneBeforeTheCall(t *testing.T) {
	k, err := NewKube(&KubeOptions{KubeconfigData: unreachableKubeconfig, NoRetry: true, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	check := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, ErrCanceled) || !errors.Is(err, context.Canceled) {
			t.Errorf("%s: %v", what, err)
		}
	}
	t0 := time.Now()
	_, _, err = k.RequestContext(ctx, "GET", "/version", nil, "")
	check("RequestContext", err)
	_, err = k.ServerVersionContext(ctx)
	check("ServerVersionContext", err)
	_, err = ListClustersContext(ctx, k, "")
	check("ListClustersContext", err)
	_, err = ClusterStatusContext(ctx, k, "x", "")
	check("ClusterStatusContext", err)
	_, err = ConnectClusterContext(ctx, k, "x", "", "")
	check("ConnectClusterContext", err)
	_, _, err = FindPodContext(ctx, k, "x", "", "")
	check("FindPodContext", err)
	_, err = k.PortForwardContext(ctx, "ns", "pod", 80)
	check("PortForwardContext", err)
	if d := time.Since(t0); d > time.Second {
		t.Fatalf("calls with a done context took %v", d)
	}
}

// A deadline bounds a port-forward's upgrade wait: a server that accepts and
// never answers is given up on at the deadline, not after the 5 s timeout.
func TestPortForwardContextDeadline(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close() // silent
		}
	}()
	kc := "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'https://" + l.Addr().String() +
		"', insecure-skip-tls-verify: true}}]\nusers: [{name: u, user: {token: abc}}]\n" +
		"contexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n"
	k, err := NewKube(&KubeOptions{KubeconfigData: kc, NoRetry: true, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
	defer cancel()
	t0 := time.Now()
	pf, err := k.PortForwardContext(ctx, "ns", "pod", 80)
	if err == nil {
		pf.Close()
		t.Fatal("a silent server gave a port-forward")
	}
	if d := time.Since(t0); d > 3*time.Second {
		t.Fatalf("the 400 ms deadline took %v (%v)", d, err)
	}
	if !errors.Is(err, context.DeadlineExceeded) && !IsTimeout(err) {
		t.Fatalf("want the deadline or a timeout: %v", err)
	}
}

// StepContext: a cancel wakes a step blocked in its wait.
func TestStepContextCancel(t *testing.T) {
	host, _ := NewKube(&KubeOptions{KubeconfigData: unreachableKubeconfig, NoRetry: true, Timeout: time.Second})
	virt, _ := NewKube(&KubeOptions{KubeconfigData: unreachableKubeconfig, NoRetry: true, Timeout: time.Second})
	defer host.Close()
	defer virt.Close()
	s, err := NewSyncer(host, virt, SyncerOptions{Name: "ctx", ResyncSeconds: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// let the first requests fail and the informers back off: then a step waits
	for i := 0; i < 20; i++ {
		s.Step(50 * time.Millisecond)
	}
	// steps wait (10 s at most, or the informers' backoff) until the cancel
	// wakes the one in its wait
	ctx, cancel := context.WithCancel(context.Background())
	var cancelled time.Time
	time.AfterFunc(300*time.Millisecond, func() { cancelled = time.Now(); cancel() })
	steps := 0
	for err == nil {
		_, err = s.StepContext(ctx, 10*time.Second)
		steps++
	}
	late := time.Since(cancelled)
	if !errors.Is(err, context.Canceled) || !errors.Is(err, ErrCanceled) || late > time.Second {
		t.Fatalf("StepContext: %v, %v after the cancel (%d steps)", err, late, steps)
	}
	done, cancel2 := context.WithCancel(context.Background())
	cancel2()
	if _, err := s.StepContext(done, time.Second); !errors.Is(err, ErrCanceled) {
		t.Fatal(err)
	}
}
