package vcluster

/*
#include "zz_shims.h"
*/
import "C"

import (
	"runtime"
	"time"
)

// KubeletProxyOptions describe a kubelet proxy (vc_kubelet_proxy_options);
// zero values are defaults. ClientCAFile or ClientCAPEM is required.
type KubeletProxyOptions struct {
	Name           string // the virtual cluster's name (required)
	HostNamespace  string // "" = "vcluster-<name>"
	ServingCertPEM string // "" with ServingKeyPEM "": a self-signed pair in memory
	ServingKeyPEM  string
	ClientCAFile   string        // the CA of the virtual API server's kubelet client certificate
	ClientCAPEM    string        // the same as PEM text (wins over the file)
	Timeout        time.Duration // handshake, request head and host answer (0: 30 s)
}

// KubeletProxy serves the kubelet API the virtual API server calls for
// kubectl logs/exec/attach/port-forward on virtual pods, and forwards to the
// host API server (vc_kubelet_proxy). It owns no socket and no goroutine:
// accept connections and call ServeFD for each; ServeFD may run on many
// goroutines at once. It holds its own reference on the host Kube.
type KubeletProxy struct {
	c *C.vc_kubelet_proxy
}

// NewKubeletProxy creates a proxy toward the host cluster.
func NewKubeletProxy(host *Kube, o KubeletProxyOptions) (*KubeletProxy, error) {
	if err := ensureInit(); err != nil {
		return nil, err
	}
	defer runtime.KeepAlive(host)
	var opts C.vc_kubelet_proxy_options
	if _, err := vc_kubelet_proxy_options_init(&opts, KUBELET_PROXY_OPTIONS_VERSION); err != nil {
		return nil, err
	}
	var cs cstrings
	defer cs.free()
	opts.name = cs.str(o.Name)
	opts.host_namespace = cs.opt(o.HostNamespace)
	opts.serving_cert_pem = cs.opt(o.ServingCertPEM)
	opts.serving_key_pem = cs.opt(o.ServingKeyPEM)
	opts.client_ca_file = cs.opt(o.ClientCAFile)
	opts.client_ca_pem = cs.opt(o.ClientCAPEM)
	opts.timeout_ms = C.int32_t(o.Timeout / time.Millisecond)
	p := &KubeletProxy{}
	if _, err := vc_kubelet_proxy_new(&p.c, host.handle(), &opts); err != nil {
		return nil, err
	}
	runtime.SetFinalizer(p, (*KubeletProxy).Close)
	return p, nil
}

// ServeFD serves one accepted TCP connection (the caller keeps and closes
// fd; it is made non-blocking), blocking until the exchange ends. From a
// *net.TCPConn, pass the fd of its File(). shutdown(2) on fd ends it early.
func (p *KubeletProxy) ServeFD(fd int) error {
	defer runtime.KeepAlive(p)
	_, err := vc_kubelet_proxy_serve(p.handle(), C.int(fd))
	return err
}

// Close releases the proxy (idempotent); connections being served finish.
func (p *KubeletProxy) Close() error {
	if p.c != nil {
		vc_kubelet_proxy_free(p.c)
		p.c = nil
		runtime.SetFinalizer(p, nil)
	}
	return nil
}

func (p *KubeletProxy) handle() *C.vc_kubelet_proxy {
	if p == nil || p.c == nil {
		panic("vcluster: use of a closed KubeletProxy")
	}
	return p.c
}
