package vcluster

/*
#include "zz_shims.h"
*/
import "C"

import "runtime"

// TranslateOptions describe a translator (vc_translate_options). Empty
// strings mean the library default; see include/vcluster/translate.h.
type TranslateOptions struct {
	Name                   string // the virtual cluster's name (required)
	HostNamespace          string // "" = "vcluster-<name>"
	ClusterDomain          string // "" = "cluster.local"
	KubeIP, DNSIP          string // host Service IPs of the virtual API server and DNS, once known
	OwnerUID               string // owner reference for namespaced host objects
	WorkloadServiceAccount string
	DefaultPriorityClass   string
	RuntimeClass           string
	RewriteHostsImage      string
	Flags                  uint32   // TRANSLATE_OPT_*
	SyncToHost             uint32   // TRANSLATE_SYNC_*
	EnforceTolerations     []string // kubectl-taint syntax
}

// Translate flags for ToHost and Manifests.
type TranslateFlags uint32

// Per-call translation flags.
const (
	ApplyDefaults TranslateFlags = TRANSLATE_APPLY_DEFAULTS
	Preview       TranslateFlags = TRANSLATE_PREVIEW
	OutputJSON    TranslateFlags = TRANSLATE_OUTPUT_JSON
)

// Translator turns virtual objects into host objects and back (vc_translator).
// Every method is a pure function: no I/O. Objects travel as JSON text.
type Translator struct {
	c *C.vc_translator
}

// NewTranslator makes a translator.
func NewTranslator(o TranslateOptions) (*Translator, error) {
	if err := ensureInit(); err != nil {
		return nil, err
	}
	var opts C.vc_translate_options
	if _, err := vc_translate_options_init(&opts, TRANSLATE_OPTIONS_VERSION); err != nil {
		return nil, err
	}
	var cs cstrings
	defer cs.free()
	opts.flags = C.uint32_t(o.Flags)
	opts.sync_to_host = C.uint32_t(o.SyncToHost)
	opts.name = cs.str(o.Name)
	opts.host_namespace = cs.opt(o.HostNamespace)
	opts.cluster_domain = cs.opt(o.ClusterDomain)
	opts.kube_ip = cs.opt(o.KubeIP)
	opts.dns_ip = cs.opt(o.DNSIP)
	opts.owner_uid = cs.opt(o.OwnerUID)
	opts.workload_service_account = cs.opt(o.WorkloadServiceAccount)
	opts.default_priority_class = cs.opt(o.DefaultPriorityClass)
	opts.runtime_class = cs.opt(o.RuntimeClass)
	opts.rewrite_hosts_image = cs.opt(o.RewriteHostsImage)
	opts.enforce_tolerations_count = C.uint32_t(len(o.EnforceTolerations))
	opts.enforce_tolerations = cs.array(o.EnforceTolerations)
	t := &Translator{}
	if _, err := vc_translator_new(&t.c, &opts); err != nil {
		return nil, err
	}
	runtime.SetFinalizer(t, (*Translator).Close)
	return t, nil
}

// Close releases the translator (idempotent).
func (t *Translator) Close() error {
	if t.c != nil {
		vc_translator_free(t.c)
		t.c = nil
		runtime.SetFinalizer(t, nil)
	}
	return nil
}

func (t *Translator) handle() *C.vc_translator {
	if t == nil || t.c == nil {
		panic("vcluster: use of a closed Translator")
	}
	return t.c
}

// HostNamespace is the namespace host objects go to.
func (t *Translator) HostNamespace() string {
	defer runtime.KeepAlive(t)
	return gostr(vc_translator_host_namespace(t.handle()))
}

// SetServiceIPs sets the virtual API server's and DNS's host Service IPs
// ("" clears one).
func (t *Translator) SetServiceIPs(kubeIP, dnsIP string) error {
	defer runtime.KeepAlive(t)
	var cs cstrings
	defer cs.free()
	_, err := vc_translator_set_service_ips(t.handle(), cs.opt(kubeIP), cs.opt(dnsIP))
	return err
}

// buf1 runs a call that fills one vc_buf and returns it as a string.
func buf1(f func(out *C.vc_buf) (C.int, error)) (string, error) {
	var out C.vc_buf
	_, err := f(&out)
	s := takeBuf(&out)
	return s, err
}

// HostName is the host name of virtual object (kind, ns, name).
func (t *Translator) HostName(kind, ns, name string) (string, error) {
	defer runtime.KeepAlive(t)
	var cs cstrings
	defer cs.free()
	return buf1(func(out *C.vc_buf) (C.int, error) {
		return vc_translate_host_name(out, t.handle(), cs.str(kind), cs.opt(ns), cs.str(name))
	})
}

// VirtualName is the virtual origin (namespace, name) of a host object.
func (t *Translator) VirtualName(hostJSON string) (ns, name string, err error) {
	defer runtime.KeepAlive(t)
	var cs cstrings
	defer cs.free()
	var bns, bname C.vc_buf
	_, err = vc_translate_virtual_name(&bns, &bname, t.handle(), cs.str(hostJSON))
	return takeBuf(&bns), takeBuf(&bname), err
}

// LabelKey is the host label key for a virtual label key.
func (t *Translator) LabelKey(key string) (string, error) {
	defer runtime.KeepAlive(t)
	var cs cstrings
	defer cs.free()
	return buf1(func(out *C.vc_buf) (C.int, error) { return vc_translate_label_key(out, t.handle(), cs.str(key)) })
}

// NamespaceLabelKey is the host label key carrying a virtual namespace label.
func (t *Translator) NamespaceLabelKey(key string) (string, error) {
	defer runtime.KeepAlive(t)
	var cs cstrings
	defer cs.free()
	return buf1(func(out *C.vc_buf) (C.int, error) {
		return vc_translate_namespace_label_key(out, t.handle(), cs.str(key))
	})
}

// ToHost translates a virtual object into the host object to create.
// inputsJSON ("" = none) carries runtime facts: see translate.h.
func (t *Translator) ToHost(virtualJSON, inputsJSON string, flags TranslateFlags) (string, error) {
	defer runtime.KeepAlive(t)
	var cs cstrings
	defer cs.free()
	return buf1(func(out *C.vc_buf) (C.int, error) {
		return vc_translate_to_host(out, t.handle(), cs.str(virtualJSON), cs.opt(inputsJSON), C.uint32_t(flags))
	})
}

// ToVirtualStatus is the virtual object with what flows back from its host object.
func (t *Translator) ToVirtualStatus(hostJSON, virtualJSON string) (string, error) {
	defer runtime.KeepAlive(t)
	var cs cstrings
	defer cs.free()
	return buf1(func(out *C.vc_buf) (C.int, error) {
		return vc_translate_to_virtual_status(out, t.handle(), cs.str(hostJSON), cs.str(virtualJSON))
	})
}

// PodBinding is the v1 Binding to POST for the virtual pod, or "" when none is needed.
func (t *Translator) PodBinding(hostPodJSON, virtualPodJSON string) (string, error) {
	defer runtime.KeepAlive(t)
	var cs cstrings
	defer cs.free()
	return buf1(func(out *C.vc_buf) (C.int, error) {
		return vc_translate_pod_binding(out, t.handle(), cs.str(hostPodJSON), cs.str(virtualPodJSON))
	})
}

// MergeMetadata merges labels and annotations both ways; "" old objects mean unchanged.
func (t *Translator) MergeMetadata(virtualOld, virtual, hostOld, host string) (string, string, error) {
	defer runtime.KeepAlive(t)
	var cs cstrings
	defer cs.free()
	var bv, bh C.vc_buf
	_, err := vc_translate_merge_metadata(&bv, &bh, t.handle(), cs.opt(virtualOld), cs.str(virtual),
		cs.opt(hostOld), cs.str(host))
	return takeBuf(&bv), takeBuf(&bh), err
}

// PodTokenRequests are the TokenRequests to make before translating the pod (a JSON list).
func (t *Translator) PodTokenRequests(virtualPodJSON string) (string, error) {
	defer runtime.KeepAlive(t)
	var cs cstrings
	defer cs.free()
	return buf1(func(out *C.vc_buf) (C.int, error) {
		return vc_translate_pod_token_requests(out, t.handle(), cs.str(virtualPodJSON))
	})
}

// PodReferences are the ConfigMaps, Secrets and PVCs the pod uses, with host names (JSON).
func (t *Translator) PodReferences(virtualPodJSON string) (string, error) {
	defer runtime.KeepAlive(t)
	var cs cstrings
	defer cs.free()
	return buf1(func(out *C.vc_buf) (C.int, error) {
		return vc_translate_pod_references(out, t.handle(), cs.str(virtualPodJSON))
	})
}

// Manifests translates a YAML/JSON stream: the rendered host objects and
// notes on what stays in the virtual cluster.
func (t *Translator) Manifests(text []byte, filename, inputsJSON string, flags TranslateFlags) (string, string, error) {
	defer runtime.KeepAlive(t)
	var cs cstrings
	defer cs.free()
	var ctext *C.char
	if len(text) > 0 {
		ctext = cs.str(string(text))
	}
	var out, notes C.vc_buf
	_, err := vc_translate_manifests(&out, &notes, t.handle(), ctext, C.size_t(len(text)), cs.opt(filename),
		cs.opt(inputsJSON), C.uint32_t(flags))
	return takeBuf(&out), takeBuf(&notes), err
}
