package vcluster

/*
#include "zz_shims.h"
*/
import "C"

import (
	"runtime"
	"time"
)

// KubeOptions describe a connection (vc_kube_options). The zero value reads
// the kubeconfig kubectl would ($KUBECONFIG, else ~/.kube/config) with its
// current context. Empty strings and zero numbers mean the library default.
type KubeOptions struct {
	Kubeconfig        string        // path, or ':'-separated list merged like KUBECONFIG
	KubeconfigData    string        // inline kubeconfig YAML (wins over Kubeconfig)
	Context           string        // "" = current-context
	Namespace         string        // "" = the context's namespace, else "default"
	InCluster         bool          // use the pod's service account
	InClusterFallback bool          // ... when no kubeconfig is found
	NoRetry           bool          // surface 429/5xx/connection errors at once
	Timeout           time.Duration // per request (0: 30s); watches are not bounded by it
	QPS               float64       // client rate limit (0: 50; < 0: off)
	Burst             int           // (0: 100)
	MaxRetries        int           // (0: 5)
	InClusterDir      string        // service-account files ("" = the standard path)
}

// Kube is a connection to one cluster (vc_kube). Connecting is lazy.
type Kube struct {
	c *C.vc_kube
}

// NewKube connects to the cluster o describes (nil: all defaults).
func NewKube(o *KubeOptions) (*Kube, error) {
	if err := ensureInit(); err != nil {
		return nil, err
	}
	var opts C.vc_kube_options
	if _, err := vc_kube_options_init(&opts, KUBE_OPTIONS_VERSION); err != nil {
		return nil, err
	}
	var cs cstrings
	defer cs.free()
	if o != nil {
		if o.InCluster {
			opts.flags |= KUBE_IN_CLUSTER
		}
		if o.InClusterFallback {
			opts.flags |= KUBE_IN_CLUSTER_FALLBACK
		}
		if o.NoRetry {
			opts.flags |= KUBE_NO_RETRY
		}
		opts.kubeconfig = cs.opt(o.Kubeconfig)
		opts.kubeconfig_data = cs.opt(o.KubeconfigData)
		opts.context = cs.opt(o.Context)
		opts.default_namespace = cs.opt(o.Namespace)
		opts.in_cluster_dir = cs.opt(o.InClusterDir)
		opts.timeout_ms = C.int32_t(o.Timeout / time.Millisecond)
		opts.qps = C.double(o.QPS)
		opts.burst = C.int32_t(o.Burst)
		opts.max_retries = C.int32_t(o.MaxRetries)
	}
	k := &Kube{}
	if _, err := vc_kube_new(&k.c, &opts); err != nil {
		return nil, err
	}
	runtime.SetFinalizer(k, (*Kube).Close)
	return k, nil
}

// Close releases the connection (idempotent). Objects that took a reference
// (a Syncer) keep working.
func (k *Kube) Close() error {
	if k.c != nil {
		vc_kube_free(k.c)
		k.c = nil
		runtime.SetFinalizer(k, nil)
	}
	return nil
}

func (k *Kube) handle() *C.vc_kube {
	if k == nil || k.c == nil {
		panic("vcluster: use of a closed Kube")
	}
	return k.c
}

// Server is the API server URL.
func (k *Kube) Server() string {
	defer runtime.KeepAlive(k)
	return gostr(vc_kube_server(k.handle()))
}

// Namespace is the context's namespace, or "default".
func (k *Kube) Namespace() string {
	defer runtime.KeepAlive(k)
	return gostr(vc_kube_namespace(k.handle()))
}

// Context is the kubeconfig context in use ("" in-cluster).
func (k *Kube) Context() string {
	defer runtime.KeepAlive(k)
	return gostr(vc_kube_context(k.handle()))
}

// Request makes one raw request with the connection's auth, rate limit,
// retries and timeout. body may be nil; contentType "" is application/json.
// A non-2xx answer is an *Error (IsNotFound, IsConflict, ...) carrying the
// HTTP status; the response body is returned in every case.
func (k *Kube) Request(method, path string, body []byte, contentType string) (int, []byte, error) {
	defer runtime.KeepAlive(k)
	var cs cstrings
	defer cs.free()
	var cbody *C.char
	if body != nil {
		cbody = cs.str(string(body))
	}
	var out C.vc_buf
	var status C.int32_t
	_, err := vc_kube_request(k.handle(), &out, &status, cs.str(method), cs.str(path), cbody, cs.opt(contentType))
	return int(status), []byte(takeBuf(&out)), err
}

// ServerVersion is the server's gitVersion, e.g. "v1.37.2".
func (k *Kube) ServerVersion() (string, error) {
	defer runtime.KeepAlive(k)
	var out C.vc_buf
	_, err := vc_kube_server_version(k.handle(), &out)
	s := takeBuf(&out)
	return s, err
}
