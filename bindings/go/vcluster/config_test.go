package vcluster

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConfigDefaults(t *testing.T) {
	c, err := NewConfig()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	bs, err := c.BackingStore()
	if c.Distro() != "k8s" || err != nil || bs != STORE_EMBEDDED_DATABASE || c.HAReplicas() != 1 || c.ServiceType() != "ClusterIP" {
		t.Fatal(c.Distro(), bs, err, c.HAReplicas(), c.ServiceType())
	}
	if v, err := c.Get("sync.toHost.pods.enabled"); err != nil || v != "true" {
		t.Fatal(v, err)
	}
	if y, err := c.YAML(); err != nil || !strings.Contains(y, "sync:") {
		t.Fatal(err)
	}
}

func TestConfigLoadSet(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "values.yaml")
	os.WriteFile(p, []byte("sync:\n  toHost:\n    ingresses:\n      enabled: true\n"), 0o600)
	c, err := NewConfig(p)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if v, _ := c.Get("sync.toHost.ingresses.enabled"); v != "true" {
		t.Fatal(v)
	}
	if err := c.LoadString("controlPlane:\n  service:\n    spec:\n      type: NodePort\n", "inline"); err != nil || c.ServiceType() != "NodePort" {
		t.Fatal(err, c.ServiceType())
	}
	if err := c.Set("controlPlane.service.spec.type", "LoadBalancer"); err != nil || c.ServiceType() != "LoadBalancer" {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("sync:\n  toHost:\n    pods:\n      enabled: yes please\n"), 0o600)
	err = c.LoadFile(bad)
	var e *Error
	if !errors.As(err, &e) || e.Code != ECONFIG || !strings.Contains(e.Message, "bad.yaml:4") {
		t.Fatal(err)
	}
	if _, err := NewConfig(bad); !errors.Is(err, ErrConfig) {
		t.Fatal(err)
	}
	if err := c.Set("no.such.key", "1"); !errors.Is(err, ErrConfig) {
		t.Fatal(err)
	}
	if _, err := c.Get("no.such.key"); !IsNotFound(err) {
		t.Fatal(err)
	}
}
