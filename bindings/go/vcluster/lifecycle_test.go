package vcluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const vcKubeconfig = `apiVersion: v1
kind: Config
clusters: [{name: vc, cluster: {server: 'https://127.0.0.1:9'}}]
users: [{name: vcu, user: {token: t}}]
contexts: [{name: vcctx, context: {cluster: vc, user: vcu}}]
current-context: vcctx
`

func TestKubeconfigFiles(t *testing.T) {
	p := filepath.Join(t.TempDir(), "config")
	os.WriteFile(p, []byte(unreachableKubeconfig), 0o600)
	if err := KubeconfigMerge(p, vcKubeconfig, "vcctx"); err != nil {
		t.Fatal(err)
	}
	k, err := NewKube(&KubeOptions{Kubeconfig: p})
	if err != nil || k.Context() != "vcctx" {
		t.Fatal(err)
	}
	k.Close()
	if prev, err := KubeconfigRestoreContext(p); err != nil || prev != "x" {
		t.Fatal(prev, err)
	}
	if err := KubeconfigRemoveContext(p, "vcctx"); err != nil {
		t.Fatal(err)
	}
	if err := KubeconfigRemoveContext(p, "vcctx"); !IsNotFound(err) {
		t.Fatal(err)
	}
	if _, err := KubeconfigRestoreContext(p); !IsNotFound(err) {
		t.Fatal(err)
	}
}

func TestLifecycleErrors(t *testing.T) {
	k, _ := NewKube(&KubeOptions{KubeconfigData: unreachableKubeconfig})
	defer k.Close()
	if err := CreateCluster(k, "Bad_Name", CreateOptions{Driver: "local"}); !IsInvalid(err) {
		t.Fatal(err)
	}
	if _, err := RenderCluster(k, "ok", CreateOptions{Driver: "local"}); !errors.Is(err, ErrNotSupported) {
		t.Fatal(err)
	}
}

func TestLifecycleNotFound(t *testing.T) {
	k := hostKube(t)
	name := fmt.Sprintf("nope%d", time.Now().UnixNano()%100000)
	if l, err := ListClusters(k, "vcluster-"+name); err != nil || len(l) != 0 {
		t.Fatal(l, err)
	}
	if _, err := ClusterStatus(k, name, ""); !IsNotFound(err) {
		t.Fatal(err)
	}
	if _, err := ConnectCluster(k, name, "", ""); !IsNotFound(err) {
		t.Fatal(err)
	}
	if _, _, err := FindPod(k, name, "", ""); !IsNotFound(err) {
		t.Fatal(err)
	}
	// no such pod: the API server's 404 through the port-forward upgrade
	if _, err := k.PortForward("default", name, 80, 10*time.Second); !IsNotFound(err) {
		t.Fatal(err)
	}
	for _, op := range []func(*Kube, string, LifecycleOptions) error{PauseCluster, ResumeCluster} {
		if err := op(k, name, LifecycleOptions{}); !IsNotFound(err) {
			t.Fatal(err)
		}
	}
	if err := DeleteCluster(k, name, DeleteOptions{}); !IsNotFound(err) {
		t.Fatal(err)
	}
}

func localDriver(t *testing.T) LifecycleOptions {
	bindir := os.Getenv("VC_K8S_BINDIR")
	if bindir == "" {
		src := os.Getenv("VC_SOURCE_ROOT")
		if src == "" {
			src = "../../.."
		}
		out, err := exec.Command(filepath.Join(src, "tests", "cluster", "hostcluster"), "bindir").Output()
		if err != nil {
			t.Fatal(err)
		}
		bindir = strings.TrimSpace(string(out))
	}
	syncer := filepath.Join(os.Getenv("VC_BUILD_ROOT"), "examples", "controller", "vcluster-syncer")
	if _, err := os.Stat(syncer); err != nil {
		t.Fatalf("the syncer executable is missing: %v", err)
	}
	return LifecycleOptions{BinDir: bindir, SyncerPath: syncer, StateDir: t.TempDir(), Timeout: 3 * time.Minute}
}

func TestLocalLifecycle(t *testing.T) {
	k := hostKube(t)
	lo := localDriver(t)
	name := fmt.Sprintf("go%d", time.Now().UnixNano()%1000000)
	var steps []string
	lo.Progress = func(step, message string, done bool) { steps = append(steps, fmt.Sprintf("%s:%v", step, done)) }
	defer DeleteCluster(k, name, DeleteOptions{LifecycleOptions: lo, DeleteNamespace: true})
	if err := CreateCluster(k, name, CreateOptions{LifecycleOptions: lo, Driver: "local"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(steps, " "), "apiserver:true") {
		t.Fatal(steps)
	}
	l, err := ListClusters(k, "")
	found := false
	for _, c := range l {
		if c.Name == name && c.State == CLUSTER_RUNNING && c.Driver == "local" {
			found = true
		}
	}
	if err != nil || !found {
		t.Fatal(l, err)
	}
	st, err := ClusterStatus(k, name, "")
	if err != nil || st.HostNamespace != "vcluster-"+name || !strings.HasPrefix(st.Server, "https://") {
		t.Fatal(st, err)
	}
	kc, err := ConnectCluster(k, name, "", "")
	if err != nil {
		t.Fatal(err)
	}
	// the effective values it was created with load back as a config
	eff, err := ClusterConfig(k, name, "")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := NewConfig()
	if err != nil {
		t.Fatal(err)
	}
	defer cfg.Close()
	if err := cfg.LoadString(eff, "effective.yaml"); err != nil {
		t.Fatal(err)
	}
	if v, err := cfg.Get("controlPlane.statefulSet.highAvailability.replicas"); err != nil || v != "1" {
		t.Fatal(v, err)
	}
	virt, err := NewKube(&KubeOptions{KubeconfigData: kc})
	if err != nil {
		t.Fatal(err)
	}
	if v, err := virt.ServerVersion(); err != nil || !strings.HasPrefix(v, "v1.") {
		t.Fatal(v, err)
	}
	virt.Close()
	if err := CreateCluster(k, name, CreateOptions{LifecycleOptions: lo, Driver: "local"}); !IsAlreadyExists(err) {
		t.Fatal(err)
	}
	if err := PauseCluster(k, name, lo); err != nil {
		t.Fatal(err)
	}
	if st, _ := ClusterStatus(k, name, ""); st.State != CLUSTER_PAUSED {
		t.Fatal(st.State.Name())
	}
	if err := PauseCluster(k, name, lo); !errors.Is(err, ErrState) {
		t.Fatal(err)
	}
	if err := ResumeCluster(k, name, lo); err != nil {
		t.Fatal(err)
	}
	if st, _ := ClusterStatus(k, name, ""); st.State != CLUSTER_RUNNING {
		t.Fatal(st.State.Name())
	}
	if err := DeleteCluster(k, name, DeleteOptions{LifecycleOptions: lo, DeleteNamespace: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := ClusterStatus(k, name, ""); !IsNotFound(err) {
		t.Fatal(err)
	}
}

func TestRenderKubernetesDriver(t *testing.T) {
	k, _ := NewKube(&KubeOptions{KubeconfigData: unreachableKubeconfig, NoRetry: true})
	defer k.Close()
	cfg, err := NewConfig()
	if err != nil {
		t.Fatal(err)
	}
	defer cfg.Close()
	if err := cfg.Set("controlPlane.service.spec.type", "NodePort"); err != nil {
		t.Fatal(err)
	}
	m, err := RenderCluster(k, "gorender", CreateOptions{Config: cfg, Distro: "k3s"})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"kind: StatefulSet", "kind: Service", "vcluster-gorender", "NodePort"} {
		if !strings.Contains(m, want) {
			t.Fatalf("%q missing from the rendered manifests", want)
		}
	}
}

// A Context that times out cancels a create that is waiting: the call
// returns promptly with an error matching both ErrCanceled and
// context.DeadlineExceeded, and what it left can be deleted.
func TestCreateContextTimeout(t *testing.T) {
	k := hostKube(t)
	name := fmt.Sprintf("goctx%d", time.Now().UnixNano()%1000000)
	var steps []string
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	lo := LifecycleOptions{Context: ctx, Timeout: 2 * time.Minute,
		Progress: func(step, message string, done bool) { steps = append(steps, step) }}
	defer DeleteCluster(k, name, DeleteOptions{LifecycleOptions: LifecycleOptions{Timeout: 2 * time.Minute}, DeleteNamespace: true})
	err := CreateCluster(k, name, CreateOptions{LifecycleOptions: lo, Driver: "kubernetes"})
	late := time.Since(mustDeadline(t, ctx))
	if !errors.Is(err, ErrCanceled) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want a cancellation by the context, got %v (steps %v)", err, steps)
	}
	t.Logf("returned %v after the deadline; steps %v", late, steps)
	if late > 500*time.Millisecond {
		t.Fatalf("returned %v after the context's deadline", late)
	}
}

// A panic in Progress cancels the call and is raised again after it.
func TestProgressPanicCancels(t *testing.T) {
	k := hostKube(t)
	name := fmt.Sprintf("gopanic%d", time.Now().UnixNano()%1000000)
	calls := 0
	defer func() {
		if p := recover(); p != "stop here" || calls != 1 {
			t.Fatalf("recovered %v after %d calls", p, calls)
		}
		if _, err := ClusterStatus(k, name, ""); !IsNotFound(err) {
			t.Fatalf("a create cancelled at its first step left something: %v", err)
		}
	}()
	CreateCluster(k, name, CreateOptions{Driver: "kubernetes", LifecycleOptions: LifecycleOptions{
		Progress: func(step, message string, done bool) { calls++; panic("stop here") }}})
	t.Fatal("CreateCluster returned instead of panicking")
}

func mustDeadline(t *testing.T, ctx context.Context) time.Time {
	d, ok := ctx.Deadline()
	if !ok {
		t.Fatal("no deadline")
	}
	return d
}

func TestCertsRender(t *testing.T) {
	out, err := CertsRender("gitops", "vcluster-gitops", nil, "10.96.0.42", "", "")
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Certs struct {
			Metadata struct{ Name string }
			Data     map[string]string
		}
		Kubeconfig struct{ Metadata struct{ Name string } }
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if got.Certs.Metadata.Name != "gitops-certs" || got.Kubeconfig.Metadata.Name != "vc-gitops" ||
		got.Certs.Data["ca.crt"] == "" || got.Certs.Data["ca.key"] == "" {
		t.Fatal(out)
	}
	data, _ := json.Marshal(got.Certs.Data)
	again, err := CertsRender("gitops", "vcluster-gitops", nil, "10.96.0.42", "", string(data))
	if err != nil || !strings.Contains(again, got.Certs.Data["ca.crt"]) {
		t.Fatal("the CA of the existing data is not kept", err)
	}
	if _, err := CertsRender("", "vcluster-gitops", nil, "", "", ""); !errors.Is(err, ErrInvalid) {
		t.Fatal("empty name:", err)
	}
}
