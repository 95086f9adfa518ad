package vcluster

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestKubeFromData(t *testing.T) {
	k, err := NewKube(&KubeOptions{KubeconfigData: unreachableKubeconfig})
	if err != nil {
		t.Fatal(err)
	}
	if k.Server() != "https://127.0.0.1:1" || k.Namespace() != "ns1" || k.Context() != "x" {
		t.Fatal(k.Server(), k.Namespace(), k.Context())
	}
	k.Close()
	k.Close() // idempotent
	k2, err := NewKube(&KubeOptions{KubeconfigData: unreachableKubeconfig, Context: "other", Namespace: "ns2"})
	if err != nil {
		t.Fatal(err)
	}
	if k2.Context() != "other" || k2.Namespace() != "ns2" {
		t.Fatal(k2.Context(), k2.Namespace())
	}
	// Left to the finalizer.
	k2 = nil
	runtime.GC()
}

func TestKubeFromFileAndErrors(t *testing.T) {
	p := filepath.Join(t.TempDir(), "kc")
	os.WriteFile(p, []byte(unreachableKubeconfig), 0o600)
	k, err := NewKube(&KubeOptions{Kubeconfig: p, Context: "other", NoRetry: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	if k.Namespace() != "default" {
		t.Fatal(k.Namespace())
	}
	st, _, err := k.Request("GET", "/version", nil, "")
	if !errors.Is(err, ErrConnect) || st != 0 {
		t.Fatalf("want ECONNECT, got %d %v", st, err)
	}
	if _, err := NewKube(&KubeOptions{Kubeconfig: p, Context: "nope"}); !errors.Is(err, ErrConfig) {
		t.Fatalf("unknown context: %v", err)
	}
}

func TestKubeInCluster(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "token"), []byte("tok"), 0o600)
	os.WriteFile(filepath.Join(dir, "namespace"), []byte("inns"), 0o600)
	os.WriteFile(filepath.Join(dir, "ca.crt"), nil, 0o600)
	t.Setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
	t.Setenv("KUBERNETES_SERVICE_PORT", "1")
	k, err := NewKube(&KubeOptions{InCluster: true, InClusterDir: dir})
	if err != nil {
		// An empty CA may be refused; the error must say which kind.
		if c := CodeOf(err); c != ECONFIG && c != ETLS && c != EIO {
			t.Fatal(err)
		}
		return
	}
	defer k.Close()
	if k.Namespace() != "inns" || k.Context() != "" || !strings.HasPrefix(k.Server(), "https://127.0.0.1") {
		t.Fatal(k.Namespace(), k.Context(), k.Server())
	}
	_, err = NewKube(&KubeOptions{Kubeconfig: "/nonexistent", InClusterFallback: true, InClusterDir: dir})
	if err != nil && CodeOf(err) != ECONFIG && CodeOf(err) != ENOTFOUND {
		t.Fatal(err)
	}
}

func TestKubeHost(t *testing.T) {
	k := hostKube(t)
	v, err := k.ServerVersion()
	if err != nil || !strings.HasPrefix(v, "v1.") {
		t.Fatal(v, err)
	}
	st, body, err := k.Request("GET", "/version", nil, "")
	if err != nil || st != 200 || !strings.Contains(string(body), v) {
		t.Fatal(st, string(body), err)
	}
}

func TestKubeCRUD(t *testing.T) {
	k := hostKube(t)
	ns := testNamespace(t, k)
	base := fmt.Sprintf("/api/v1/namespaces/%s/configmaps", ns)
	cm := []byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"one"},"data":{"k":"v1"}}`)
	st, _, err := k.Request("POST", base, cm, "")
	if err != nil || st != 201 {
		t.Fatal(st, err)
	}
	st, body, err := k.Request("POST", base, cm, "")
	var e *Error
	if !errors.As(err, &e) || e.Code != EEXISTS || e.HTTPStatus != 409 || e.Reason != "AlreadyExists" || st != 409 {
		t.Fatalf("%d %v", st, err)
	}
	if !strings.Contains(string(body), "AlreadyExists") {
		t.Fatal("the Status body comes back with the error")
	}
	_, body, err = k.Request("GET", base+"/one", nil, "")
	if err != nil {
		t.Fatal(err)
	}
	var obj map[string]any
	json.Unmarshal(body, &obj)
	obj["data"] = map[string]string{"k": "v2"}
	upd, _ := json.Marshal(obj)
	if _, _, err := k.Request("PUT", base+"/one", upd, ""); err != nil {
		t.Fatal(err)
	}
	if _, _, err := k.Request("PUT", base+"/one", upd, ""); !IsConflict(err) {
		t.Fatalf("stale update: %v", err)
	}
	_, body, err = k.Request("PATCH", base+"/one", []byte(`{"data":{"p":"x"}}`), "application/merge-patch+json")
	if err != nil || !strings.Contains(string(body), `"p":"x"`) {
		t.Fatal(string(body), err)
	}
	if _, _, err := k.Request("GET", base+"/missing", nil, ""); !IsNotFound(err) || CodeOf(err) != ENOTFOUND {
		t.Fatalf("missing: %v", err)
	}
	if _, _, err := k.Request("DELETE", base+"/one", nil, ""); err != nil {
		t.Fatal(err)
	}
}
