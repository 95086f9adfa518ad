package vcluster

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

const testPod = `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"nginx","namespace":"default","uid":"1234",
"labels":{"app":"web","release":"r1"}},"spec":{"containers":[{"name":"c","image":"nginx",
"envFrom":[{"configMapRef":{"name":"cfg"}}]}]}}`

func newTestTranslator(t *testing.T, o TranslateOptions) *Translator {
	t.Helper()
	tr, err := NewTranslator(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}

func jsonPath(t *testing.T, doc string, path ...string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(doc), &v); err != nil {
		t.Fatalf("%v: %s", err, doc)
	}
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

func TestTranslatorNames(t *testing.T) {
	tr := newTestTranslator(t, TranslateOptions{Name: "my-vc", KubeIP: "10.96.0.10", DNSIP: "10.96.0.11"})
	if tr.HostNamespace() != "vcluster-my-vc" {
		t.Fatal(tr.HostNamespace())
	}
	if n, err := tr.HostName("Pod", "default", "nginx"); err != nil || n != "nginx-x-default-x-my-vc" {
		t.Fatal(n, err)
	}
	if _, err := tr.HostName("Pod", "", "nginx"); !errors.Is(err, ErrInvalid) {
		t.Fatal(err)
	}
	if _, err := tr.HostName("Deployment", "default", "web"); !errors.Is(err, ErrNotSupported) {
		t.Fatal(err)
	}
	if k, err := tr.LabelKey("release"); err != nil || !strings.HasPrefix(k, "vcluster.loft.sh/label-my-vc-x-") {
		t.Fatal(k, err)
	}
	if k, err := tr.NamespaceLabelKey("team"); err != nil || !strings.HasPrefix(k, "vcluster.loft.sh/ns-label-my-vc-x-") {
		t.Fatal(k, err)
	}
}

func TestTranslatorPod(t *testing.T) {
	tr := newTestTranslator(t, TranslateOptions{Name: "my-vc", KubeIP: "10.96.0.10", DNSIP: "10.96.0.11"})
	host, err := tr.ToHost(testPod, "", ApplyDefaults)
	if err != nil {
		t.Fatal(err)
	}
	if jsonPath(t, host, "metadata", "name") != "nginx-x-default-x-my-vc" ||
		jsonPath(t, host, "metadata", "namespace") != "vcluster-my-vc" {
		t.Fatal(host)
	}
	if ns, name, err := tr.VirtualName(host); err != nil || ns != "default" || name != "nginx" {
		t.Fatal(ns, name, err)
	}
	if _, _, err := tr.VirtualName(`{"kind":"Pod","metadata":{"name":"x"}}`); !IsNotFound(err) {
		t.Fatal(err)
	}
	running := strings.Replace(host, `"kind":"Pod",`, `"kind":"Pod","status":{"phase":"Running"},`, 1)
	v, err := tr.ToVirtualStatus(running, testPod)
	if err != nil || jsonPath(t, v, "status", "phase") != "Running" {
		t.Fatal(v, err)
	}
	mv, mh, err := tr.MergeMetadata("", testPod, "", host)
	if err != nil || jsonPath(t, mv, "metadata", "name") != "nginx" || jsonPath(t, mh, "metadata", "name") != "nginx-x-default-x-my-vc" {
		t.Fatal(mv, mh, err)
	}
	if b, err := tr.PodBinding(host, testPod); err != nil || b != "" {
		t.Fatal(b, err)
	}
	if r, err := tr.PodTokenRequests(testPod); err != nil || r != "[]" {
		t.Fatal(r, err)
	}
	if r, err := tr.PodReferences(testPod); err != nil || !strings.Contains(r, "cfg-x-default-x-my-vc") {
		t.Fatal(r, err)
	}
	if _, err := tr.ToHost("{not json", "", 0); !IsInvalid(err) {
		t.Fatal(err)
	}
}

func TestTranslatorRuntimeInputs(t *testing.T) {
	tr := newTestTranslator(t, TranslateOptions{Name: "my-vc", EnforceTolerations: []string{"a=b:NoSchedule", "*"},
		SyncToHost: TRANSLATE_SYNC_ALL, Flags: TRANSLATE_OPT_VIRTUAL_SCHEDULER, HostNamespace: "hns"})
	if _, err := tr.ToHost(testPod, "", 0); !errors.Is(err, ErrState) {
		t.Fatalf("want ESTATE, got %v", err)
	}
	prev, err := tr.ToHost(testPod, "", Preview)
	if err != nil || !strings.Contains(prev, "<kube-ip>") || !strings.Contains(prev, `"effect":"NoSchedule"`) {
		t.Fatal(prev, err)
	}
	if err := tr.SetServiceIPs("10.96.0.10", "10.96.0.11"); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.ToHost(testPod, "", 0); err != nil {
		t.Fatal(err)
	}
	if err := tr.SetServiceIPs("nope", ""); !IsInvalid(err) {
		t.Fatal(err)
	}
	if _, err := NewTranslator(TranslateOptions{}); !IsInvalid(err) {
		t.Fatal(err)
	}
}

func TestTranslatorManifests(t *testing.T) {
	tr := newTestTranslator(t, TranslateOptions{Name: "my-vc"})
	text := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: demo}\n---\n" +
		"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d, namespace: demo}\n"
	out, notes, err := tr.Manifests([]byte(text), "m.yaml", "", 0)
	if err != nil || !strings.Contains(out, "a-x-demo-x-my-vc") || !strings.Contains(notes, "Deployment") {
		t.Fatal(out, notes, err)
	}
	out, _, err = tr.Manifests([]byte(text), "", "", OutputJSON)
	if err != nil || jsonPath(t, out, "metadata", "name") != "a-x-demo-x-my-vc" {
		t.Fatal(out, err)
	}
	_, _, err = tr.Manifests([]byte("kind: ["), "bad.yaml", "", 0)
	var e *Error
	if !errors.As(err, &e) || !strings.HasPrefix(e.Message, "bad.yaml:") {
		t.Fatal(err)
	}
}
