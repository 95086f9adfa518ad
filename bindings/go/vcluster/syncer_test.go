package vcluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestSyncerOffline(t *testing.T) {
	host, _ := NewKube(&KubeOptions{KubeconfigData: unreachableKubeconfig, NoRetry: true, Timeout: time.Second})
	virt, _ := NewKube(&KubeOptions{KubeconfigData: unreachableKubeconfig, NoRetry: true, Timeout: time.Second})
	if _, err := NewSyncer(host, virt, SyncerOptions{}); !IsInvalid(err) {
		t.Fatalf("no name: %v", err)
	}
	s, err := NewSyncer(host, virt, SyncerOptions{Name: "offline", ResyncSeconds: -1})
	if err != nil {
		t.Fatal(err)
	}
	host.Close() // the syncer holds its own references
	virt.Close()
	defer s.Close()
	if fd, err := s.Fd(); err != nil || fd < 0 {
		t.Fatal(fd, err)
	}
	var errEv *SyncEvent
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err = s.Run(ctx, func(ev SyncEvent) {
		if ev.Type == SYNC_ERROR && errEv == nil {
			errEv = &ev
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) || errEv == nil {
		t.Fatalf("Run: %v, error event %v", err, errEv)
	}
	var e *Error
	if !errors.As(errEv.Err, &e) || e.Message == "" || !strings.Contains(errEv.String(), "SYNC_ERROR") {
		t.Fatal(errEv)
	}
	st, err := s.Stats()
	if err != nil || st.Informers == 0 {
		t.Fatal(st, err)
	}
	if j, err := s.StatsJSON(); err != nil || !strings.HasPrefix(j, "{") {
		t.Fatal(j, err)
	}
	if err := s.Wakeup(); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	if _, err := s.Step(5 * time.Second); err != nil || time.Since(t0) > 4*time.Second {
		t.Fatal("a woken step must return early", err)
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel2()
	if err := s.Run(ctx2, nil); err != nil {
		t.Fatal("Run after Stop must end with the syncer stopped:", err)
	}
	if _, ok, err := s.NextEvent(); ok || err != nil {
		t.Fatal(ok, err)
	}
}

// harnessEnv is this process's environment without the sanitizer runtime
// preload (tests/bindings/sanitizer-env.sh): the harness helpers hang under it.
func harnessEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "LD_PRELOAD=") && !strings.HasPrefix(kv, "ASAN_OPTIONS=") &&
			!strings.HasPrefix(kv, "UBSAN_OPTIONS=") {
			env = append(env, kv)
		}
	}
	return env
}

// virtualKubeconfig starts a bare control plane as the virtual cluster, like
// the C syncer integration test.
func virtualKubeconfig(t *testing.T) string {
	hostKubeconfig(t)
	if kc := os.Getenv("VC_TEST_VIRTUAL_KUBECONFIG"); kc != "" {
		return kc // an already running one (development)
	}
	src := os.Getenv("VC_SOURCE_ROOT")
	if src == "" {
		src = "../../.."
	}
	hc := filepath.Join(src, "tests", "cluster", "hostcluster")
	state, err := os.MkdirTemp("", "vc-govirt-")
	if err != nil {
		t.Fatal(err)
	}
	// Output to a file, never a pipe: the daemons it starts would hold a pipe open.
	logf, err := os.Create(state + ".log")
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(state + ".log")
	defer logf.Close()
	up := exec.Command(hc, "up", "--state", state, "--store", "kine", "--no-scheduler", "--no-kwok",
		"--nodes", "0", "--service-cidr", "10.96.0.0/12")
	up.Stdout, up.Stderr = logf, logf
	up.Env = harnessEnv()
	if err := up.Run(); err != nil {
		out, _ := os.ReadFile(state + ".log")
		t.Fatalf("could not start the virtual control plane: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		down := exec.Command(hc, "down", "--state", state, "--purge")
		down.Env = harnessEnv()
		down.Run()
	})
	kcCmd := exec.Command(hc, "kubeconfig", "--state", state)
	kcCmd.Env = harnessEnv()
	kc, err := kcCmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(kc))
}

func TestSyncerWithClusters(t *testing.T) {
	host := hostKube(t)
	vkc := virtualKubeconfig(t)
	virt, err := NewKube(&KubeOptions{Kubeconfig: vkc, QPS: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer virt.Close()
	name := fmt.Sprintf("go%d", time.Now().UnixNano()%100000)
	hns := "vcluster-" + name
	post := func(k *Kube, path, body string) {
		if _, _, err := k.Request("POST", path, []byte(body), ""); err != nil && !IsAlreadyExists(err) {
			t.Fatal(path, err)
		}
	}
	post(host, "/api/v1/namespaces", `{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"`+hns+`"}}`)
	defer host.Request("DELETE", "/api/v1/namespaces/"+hns, nil, "")
	post(host, "/api/v1/namespaces/"+hns+"/services", `{"apiVersion":"v1","kind":"Service","metadata":{"name":"`+name+
		`"},"spec":{"ports":[{"name":"https","port":443,"targetPort":8443}]}}`)
	post(virt, "/api/v1/namespaces", `{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"demo"}}`)
	post(virt, "/api/v1/namespaces/demo/services", `{"apiVersion":"v1","kind":"Service","metadata":{"name":"web"},`+
		`"spec":{"selector":{"app":"web"},"ports":[{"port":80}]}}`)

	s, err := NewSyncer(host, virt, SyncerOptions{Name: name, HostNamespace: hns})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	hostSvc := "/api/v1/namespaces/" + hns + "/services/web-x-demo-x-" + name
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	sawService := false
	go func() {
		for ctx.Err() == nil {
			if _, _, err := host.Request("GET", hostSvc, nil, ""); err == nil {
				cancel()
				return
			}
			time.Sleep(300 * time.Millisecond)
		}
	}()
	err = s.Run(ctx, func(ev SyncEvent) {
		t.Log(ev)
		if ev.Kind == "Service" && ev.VirtualName == "web" {
			sawService = true
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("the host Service did not appear: %v", err)
	}
	if _, body, err := host.Request("GET", hostSvc, nil, ""); err != nil || !strings.Contains(string(body), `"vcluster.loft.sh/object-name":"web"`) {
		t.Fatal(string(body), err)
	}
	if !sawService {
		t.Log("no Service event seen before the host object appeared (events may lag a step)")
	}
	ctls, err := s.ControllerStats()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, c := range ctls {
		if c.Name == "services" {
			found = c.Kind == "Service" && c.ReconcileSuccess >= 1 && c.ReconcileTime.Count >= 1 &&
				c.ReconcileTime.Buckets[len(c.ReconcileTime.Buckets)-1] <= c.ReconcileTime.Count
		}
	}
	if !found {
		t.Fatalf("services controller stats: %+v", ctls)
	}
	reqs, err := s.RequestStats()
	if err != nil {
		t.Fatal(err)
	}
	posted := false
	for _, r := range reqs {
		posted = posted || (r.Cluster == "host" && r.Method == "POST" && r.Code == 201 && r.Count >= 1 &&
			r.Latency.Count == r.Count)
	}
	if !posted {
		t.Fatalf("no host POST 201 in the request stats: %+v", reqs)
	}
	s.Stop()
	ctx2, cancel2 := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel2()
	if err := s.Run(ctx2, nil); err != nil {
		t.Fatal(err)
	}
}

// SyncerOptions.Config (vc_syncer_options.config): the parsed values reach
// the syncer (a toHost replication outside the host namespace is refused),
// and Config with ConfigYAML is refused.
func TestSyncerConfig(t *testing.T) {
	k, err := NewKube(&KubeOptions{KubeconfigData: unreachableKubeconfig, NoRetry: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	bad := "networking:\n  replicateServices:\n    toHost:\n    - from: default/a\n      to: elsewhere/b\n"
	cfg, err := NewConfig()
	if err != nil {
		t.Fatal(err)
	}
	defer cfg.Close()
	if err := cfg.LoadString(bad, "bad.yaml"); err != nil {
		t.Fatal(err)
	}
	if _, err := NewSyncer(k, k, SyncerOptions{Name: "cfg", Config: cfg}); CodeOf(err) != ECONFIG {
		t.Fatalf("Config not used: %v", err)
	}
	if _, err := NewSyncer(k, k, SyncerOptions{Name: "cfg", Config: cfg, ConfigYAML: bad}); !IsInvalid(err) {
		t.Fatalf("Config and ConfigYAML: %v", err)
	}
}

// LeaderElect and its timings reach the library: bad timings are refused,
// and a syncer that cannot reach its Lease stays a standby that writes
// nothing.
func TestSyncerLeaderElectOptions(t *testing.T) {
	k, err := NewKube(&KubeOptions{KubeconfigData: unreachableKubeconfig, NoRetry: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	if _, err := NewSyncer(k, k, SyncerOptions{Name: "le", LeaderElect: true, LeaseDuration: time.Second,
		RenewDeadline: time.Second}); !IsInvalid(err) || !strings.Contains(err.Error(), "renew deadline") {
		t.Fatalf("lease == renew deadline: %v", err)
	}
	s, err := NewSyncer(k, k, SyncerOptions{Name: "le", LeaderElect: true, Identity: "go-1", LeaseName: "my-lease",
		LeaseDuration: 4 * time.Second, RenewDeadline: 3 * time.Second, RetryPeriod: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_ = s.Run(ctx, nil)
	st, err := s.Stats()
	if err != nil || st.LeaderState != LEADER_STANDBY || st.LeaderAcquired != 0 || st.HostWrites != 0 ||
		st.VirtualWrites != 0 {
		t.Fatal(st, err)
	}
	if SYNC_LEADER_ACQUIRED.Name() != "SYNC_LEADER_ACQUIRED" {
		t.Fatal(SYNC_LEADER_ACQUIRED.Name())
	}
}
