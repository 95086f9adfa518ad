package vcluster

/*
#include "zz_shims.h"
*/
import "C"

import (
	"context"
	"fmt"
	"runtime"
	"runtime/cgo"
	"time"
	"unsafe"
)

// ProgressFunc is told about the steps of a long lifecycle call ("namespace",
// "certificates", "apiserver", "syncer", ...): done is false when a step
// starts and true when it finished. It runs inside the call, on its thread,
// and must not call back into the library. A panic in it cancels the call
// (as Context would) and is re-raised when the call has returned.
type ProgressFunc func(step, message string, done bool)

// LifecycleOptions are shared by every lifecycle call; zero values are defaults.
type LifecycleOptions struct {
	// Context cancels the call (nil = context.Background()): once it is
	// done the call stops before its next request or wait (it checks at
	// least every 100 ms while waiting) and returns an error that matches
	// both ErrCanceled and ctx.Err() (context.Canceled or
	// context.DeadlineExceeded) with errors.Is. It leaves what a timeout at
	// that moment would: see vc_progress_fn in lifecycle.h.
	Context       context.Context
	HostNamespace string        // "" = "vcluster-<name>"
	Timeout       time.Duration // 0 = 2 minutes
	Progress      ProgressFunc
	BinDir        string // local driver: kube-apiserver, kine, ... ("" = $VC_K8S_BINDIR, else PATH)
	SyncerPath    string // local driver: the vcluster-syncer executable
	StateDir      string // local driver: state root ("" = XDG state dir)
}

// CreateOptions describe a virtual cluster to create (vc_create_options).
type CreateOptions struct {
	LifecycleOptions
	Driver       string  // "kubernetes" or "local"
	Distro       string  // "k8s", "k3s", "k0s" ("" = from Config)
	BackingStore string  // "sqlite" or "etcd" ("" = from Config)
	Config       *Config // parsed vcluster.yaml (nil = defaults)
	Upgrade      bool    // upgrade in place instead of failing with EEXISTS
	Expose       bool    // a LoadBalancer Service for the API server
	NoWait       bool    // return without waiting for readiness
}

// ClusterInfo is what List and Status report about a virtual cluster.
type ClusterInfo struct {
	Name, HostNamespace, Driver, Version, Created, Server, Message string
	State                                                          ClusterState
	Connected                                                      bool
}

// progressCall carries Progress and Context through the C user_data of one
// call: the callback answers non-zero (cancel) once ctx is done or fn panicked.
type progressCall struct {
	ctx      context.Context
	fn       ProgressFunc
	panicked any
	h        cgo.Handle
}

func newProgressCall(o *LifecycleOptions) *progressCall {
	pc := &progressCall{ctx: o.Context, fn: o.Progress}
	if pc.ctx == nil && pc.fn == nil {
		return pc
	}
	pc.h = cgo.NewHandle(callback_vc_progress_fn(func(step, message *C.char, done C.int32_t) (r C.int) {
		if pc.panicked != nil {
			return 1
		}
		if pc.ctx != nil && pc.ctx.Err() != nil {
			return 1
		}
		if pc.fn == nil || done == C.VC_PROGRESS_WAITING {
			return 0
		}
		defer func() {
			if p := recover(); p != nil {
				pc.panicked = p
				r = 1
			}
		}()
		pc.fn(gostr(step), gostr(message), done == C.VC_PROGRESS_DONE)
		return 0
	}))
	return pc
}

// set fills the progress fields of a C options struct.
func (pc *progressCall) set(fn *C.vc_progress_fn, ud *unsafe.Pointer) {
	if pc.h != 0 {
		*fn, *ud = tramp_vc_progress_fn(), C.vcgo_handle_ptr(C.uintptr_t(pc.h))
	}
}

// finish releases the handle, re-raises a panic of Progress and ties a
// cancellation to the context's error.
func (pc *progressCall) finish(err error) error {
	if pc.h != 0 {
		pc.h.Delete()
	}
	if pc.panicked != nil {
		panic(pc.panicked)
	}
	if CodeOf(err) == ECANCELED && pc.ctx != nil && pc.ctx.Err() != nil {
		return &canceledError{err: err, ctx: pc.ctx.Err()}
	}
	return err
}

// canceledError is a call stopped by its Context: errors.Is matches both the
// library's ErrCanceled and the context's error.
type canceledError struct{ err, ctx error }

func (e *canceledError) Error() string   { return fmt.Sprintf("%v (%v)", e.err, e.ctx) }
func (e *canceledError) Unwrap() []error { return []error{e.err, e.ctx} }

func infoFrom(p *C.vc_cluster_info) ClusterInfo {
	return ClusterInfo{
		Name: gostr(p.name), HostNamespace: gostr(p.host_namespace), Driver: gostr(p.driver),
		Version: gostr(p.version), Created: gostr(p.created), Server: gostr(p.server), Message: gostr(p.message),
		State: ClusterState(p.state), Connected: p.connected != 0,
	}
}

// CreateCluster creates (or upgrades) virtual cluster name on host and,
// unless NoWait, waits until it serves.
func CreateCluster(host *Kube, name string, o CreateOptions) error {
	_, err := createCluster(host, name, o, 0)
	return err
}

// RenderCluster changes nothing and returns the host manifests (YAML) that
// the kubernetes driver would apply (VC_CREATE_PRINT).
func RenderCluster(host *Kube, name string, o CreateOptions) (string, error) {
	return createCluster(host, name, o, CREATE_PRINT)
}

func createCluster(host *Kube, name string, o CreateOptions, extra uint32) (string, error) {
	defer runtime.KeepAlive(host)
	defer runtime.KeepAlive(o.Config)
	var opts C.vc_create_options
	if _, err := vc_create_options_init(&opts, CREATE_OPTIONS_VERSION); err != nil {
		return "", err
	}
	var cs cstrings
	defer cs.free()
	flags := extra
	if o.Upgrade {
		flags |= CREATE_UPGRADE
	}
	if o.Expose {
		flags |= CREATE_EXPOSE
	}
	if o.NoWait {
		flags |= CREATE_NO_WAIT
	}
	opts.flags = C.uint32_t(flags)
	opts.name = cs.str(name)
	opts.host_namespace = cs.opt(o.HostNamespace)
	opts.driver = cs.opt(o.Driver)
	opts.distro = cs.opt(o.Distro)
	opts.backing_store = cs.opt(o.BackingStore)
	if o.Config != nil {
		opts.config = o.Config.handle()
	}
	opts.bin_dir = cs.opt(o.BinDir)
	opts.syncer_path = cs.opt(o.SyncerPath)
	opts.state_dir = cs.opt(o.StateDir)
	opts.timeout_ms = C.int32_t(o.Timeout / time.Millisecond)
	pc := newProgressCall(&o.LifecycleOptions)
	pc.set(&opts.progress, &opts.progress_user_data)
	var out C.vc_buf
	_, err := vc_cluster_create(host.handle(), &opts, &out)
	return takeBuf(&out), pc.finish(err)
}

// ListClusters lists the virtual clusters of host (hostNamespace "" = all namespaces).
func ListClusters(host *Kube, hostNamespace string) ([]ClusterInfo, error) {
	defer runtime.KeepAlive(host)
	var cs cstrings
	defer cs.free()
	var l *C.vc_cluster_list
	if _, err := vc_cluster_list_get(&l, host.handle(), cs.opt(hostNamespace)); err != nil {
		return nil, err
	}
	defer vc_cluster_list_free(l)
	n := int(vc_cluster_list_count(l))
	res := make([]ClusterInfo, 0, n)
	for i := 0; i < n; i++ {
		res = append(res, infoFrom(vc_cluster_list_at(l, C.size_t(i))))
	}
	return res, nil
}

// ClusterStatus reports one virtual cluster (IsNotFound when there is none).
func ClusterStatus(host *Kube, name, hostNamespace string) (ClusterInfo, error) {
	defer runtime.KeepAlive(host)
	var cs cstrings
	defer cs.free()
	var p *C.vc_cluster_info
	if _, err := vc_cluster_status(&p, host.handle(), cs.str(name), cs.opt(hostNamespace)); err != nil {
		return ClusterInfo{}, err
	}
	defer vc_cluster_info_free(p)
	return infoFrom(p), nil
}

// ConnectCluster returns a kubeconfig (YAML) for the virtual cluster; server
// ("" = the recorded address) overrides the address written into it.
func ConnectCluster(host *Kube, name, hostNamespace, server string) (string, error) {
	defer runtime.KeepAlive(host)
	var cs cstrings
	defer cs.free()
	return buf1(func(out *C.vc_buf) (C.int, error) {
		return vc_cluster_connect(out, host.handle(), cs.str(name), cs.opt(hostNamespace), cs.opt(server))
	})
}

// ClusterConfig returns the effective vcluster.yaml (defaults and the
// user's values) the virtual cluster was created or last upgraded with: what
// `vcluster describe` shows. Load it with Config.LoadString.
func ClusterConfig(host *Kube, name, hostNamespace string) (string, error) {
	defer runtime.KeepAlive(host)
	var cs cstrings
	defer cs.free()
	return buf1(func(out *C.vc_buf) (C.int, error) {
		return vc_cluster_get_config(out, host.handle(), cs.str(name), cs.opt(hostNamespace))
	})
}

// CertsRender returns the kubernetes driver's PKI as host Secrets, made
// without a host connection (what the init container of `vcluster render`
// manifests makes at first start), as JSON:
// {"certs": Secret NAME-certs, "kubeconfig": Secret vc-NAME}. config may be
// nil (defaults); serviceIP, serviceCIDR and existingDataJSON (the data map
// of an existing NAME-certs, kept) may be "".
func CertsRender(name, hostNamespace string, config *Config, serviceIP, serviceCIDR, existingDataJSON string) (string, error) {
	defer runtime.KeepAlive(config)
	var cs cstrings
	defer cs.free()
	var cfg *C.vc_config
	if config != nil {
		cfg = config.handle()
	}
	return buf1(func(out *C.vc_buf) (C.int, error) {
		return vc_cluster_certs_render(out, cs.str(name), cs.str(hostNamespace), cfg, cs.opt(serviceIP),
			cs.opt(serviceCIDR), cs.opt(existingDataJSON))
	})
}

// FindPod is the control plane pod (kubernetes driver) to port-forward to
// and its API server port: a Ready one, or pod ("" = any) if it is one and Ready.
func FindPod(host *Kube, name, hostNamespace, pod string) (string, int, error) {
	defer runtime.KeepAlive(host)
	var cs cstrings
	defer cs.free()
	var port C.int32_t
	s, err := buf1(func(out *C.vc_buf) (C.int, error) {
		return vc_cluster_find_pod(out, &port, host.handle(), cs.str(name), cs.opt(hostNamespace), cs.opt(pod))
	})
	return s, int(port), err
}

type clusterOp func(*C.vc_kube, *C.char, *C.char, *C.vc_cluster_op_options) (C.int, error)

func runOp(op clusterOp, host *Kube, name string, o LifecycleOptions, flags uint32) error {
	defer runtime.KeepAlive(host)
	var opts C.vc_cluster_op_options
	if _, err := vc_cluster_op_options_init(&opts, CLUSTER_OP_OPTIONS_VERSION); err != nil {
		return err
	}
	var cs cstrings
	defer cs.free()
	opts.flags = C.uint32_t(flags)
	opts.timeout_ms = C.int32_t(o.Timeout / time.Millisecond)
	opts.bin_dir = cs.opt(o.BinDir)
	opts.syncer_path = cs.opt(o.SyncerPath)
	opts.state_dir = cs.opt(o.StateDir)
	pc := newProgressCall(&o)
	pc.set(&opts.progress, &opts.progress_user_data)
	_, err := op(host.handle(), cs.str(name), cs.opt(o.HostNamespace), &opts)
	return pc.finish(err)
}

// PauseCluster stops the control plane and deletes its host workloads; data is kept.
func PauseCluster(host *Kube, name string, o LifecycleOptions) error {
	return runOp(vc_cluster_pause, host, name, o, 0)
}

// ResumeCluster resumes a paused virtual cluster.
func ResumeCluster(host *Kube, name string, o LifecycleOptions) error {
	return runOp(vc_cluster_resume, host, name, o, 0)
}

// DeleteOptions add what Delete may also remove.
type DeleteOptions struct {
	LifecycleOptions
	KeepPVCs        bool // keep the PersistentVolumeClaims
	DeleteNamespace bool // delete the host namespace too (if the cluster created it)
}

// DeleteCluster deletes a virtual cluster and everything it made on the host.
func DeleteCluster(host *Kube, name string, o DeleteOptions) error {
	var flags uint32
	if o.KeepPVCs {
		flags |= DELETE_KEEP_PVC
	}
	if o.DeleteNamespace {
		flags |= DELETE_NAMESPACE
	}
	return runOp(vc_cluster_delete, host, name, o.LifecycleOptions, flags)
}

// KubeconfigMerge merges kubeconfig YAML into the file at path ("" =
// kubectl's file); useContext ("" = keep) becomes current-context.
func KubeconfigMerge(path, kubeconfigYAML, useContext string) error {
	var cs cstrings
	defer cs.free()
	_, err := vc_kubeconfig_merge(cs.opt(path), cs.str(kubeconfigYAML), cs.opt(useContext))
	return err
}

// KubeconfigRemoveContext removes a context (and its unused cluster and user).
func KubeconfigRemoveContext(path, context string) error {
	var cs cstrings
	defer cs.free()
	_, err := vc_kubeconfig_remove_context(cs.opt(path), cs.str(context))
	return err
}

// KubeconfigRestoreContext switches back to the context that was current
// before the last merge and returns its name.
func KubeconfigRestoreContext(path string) (string, error) {
	var cs cstrings
	defer cs.free()
	return buf1(func(out *C.vc_buf) (C.int, error) { return vc_kubeconfig_restore_context(cs.opt(path), out) })
}
