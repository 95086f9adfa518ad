package vcluster

import (
	"errors"
	"go/format"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestVersion(t *testing.T) {
	n, s := Version()
	if n != VERSION_NUMBER || s != VERSION_STRING {
		t.Fatalf("runtime %#x %q, headers %#x %q", n, s, VERSION_NUMBER, VERSION_STRING)
	}
	if n < GeneratedVersion || n>>16 != GeneratedVersion>>16 {
		t.Fatalf("runtime %#x incompatible with generated %#x", n, GeneratedVersion)
	}
	if VERSION_MAJOR<<16|VERSION_MINOR<<8|VERSION_PATCH != VERSION_NUMBER {
		t.Fatal("VERSION_* disagree")
	}
}

func TestStatusStrings(t *testing.T) {
	if ENOTFOUND.Name() != "ENOTFOUND" || Status(-999).Name() != "Status(-999)" {
		t.Fatal(ENOTFOUND.Name(), Status(-999).Name())
	}
	for _, s := range []Status{OK, ITEROVER, EINVAL, ENOTFOUND, ECANCELED, Status(-999)} {
		if s.String() == "" {
			t.Fatalf("empty strerror for %d", s)
		}
	}
	if LOG_DEBUG.Name() != "LOG_DEBUG" || ERRCLASS_API.Name() != "ERRCLASS_API" {
		t.Fatal("enum names")
	}
}

func TestErrorsAsAndIs(t *testing.T) {
	_, err := NewKube(&KubeOptions{Kubeconfig: "/nonexistent/kubeconfig"})
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("not an *Error: %v", err)
	}
	if e.Code != ENOTFOUND || !strings.Contains(e.Message, "/nonexistent/kubeconfig") || e.Func != "vc_kube_new" {
		t.Fatalf("%+v", e)
	}
	if !errors.Is(err, ErrNotFound) || errors.Is(err, ErrConflict) || !IsNotFound(err) {
		t.Fatal("errors.Is by code")
	}
	wrapped := errors.Join(errors.New("context"), err)
	if !IsNotFound(wrapped) || CodeOf(wrapped) != ENOTFOUND || CodeOf(nil) != OK || CodeOf(errors.New("x")) != EGENERIC {
		t.Fatal("CodeOf through wrapping")
	}
	if !strings.Contains(err.Error(), "ENOTFOUND") {
		t.Fatal(err.Error())
	}
	_, err = NewKube(&KubeOptions{KubeconfigData: "this: [is not a kubeconfig"})
	if !errors.Is(err, ErrConfig) || IsInvalid(err) || IsConflict(err) || IsTimeout(err) || IsGone(err) ||
		IsForbidden(err) || IsAlreadyExists(err) {
		t.Fatalf("ECONFIG expected: %v", err)
	}
}

// The error must be the failing call's own even when goroutines hop OS
// threads: the shim copies it inside the same cgo call.
func TestErrorsAcrossThreads(t *testing.T) {
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for j := 0; j < 50; j++ {
				path := filepath.Join("/nonexistent", strings.Repeat("x", i+1))
				_, err := NewKube(&KubeOptions{Kubeconfig: path})
				var e *Error
				if !errors.As(err, &e) || !strings.Contains(e.Message, path) {
					t.Errorf("goroutine %d got %v", i, err)
					return
				}
				runtime.Gosched()
			}
		}(i)
	}
	wg.Wait()
}

func TestClearErrorAndLastError(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	NewKube(&KubeOptions{Kubeconfig: "/nonexistent/x"})
	if c, m := lastError(); c != ENOTFOUND || m == "" {
		t.Fatal(c, m)
	}
	ClearError()
	if c, m := lastError(); c != OK || m != "" {
		t.Fatal(c, m)
	}
	Free(nil)
}

func TestGlobalInitRefcount(t *testing.T) {
	if err := ensureInit(); err != nil {
		t.Fatal(err)
	}
	if _, err := vc_global_init(nil); err != nil {
		t.Fatal(err)
	}
	left, err := vc_global_shutdown()
	if err != nil || left < 1 {
		t.Fatal(left, err)
	}
}

func TestLogFunc(t *testing.T) {
	var mu sync.Mutex
	var got []string
	SetLogFunc(LOG_DEBUG, func(level LogLevel, subsystem, msg string) {
		mu.Lock()
		got = append(got, level.Name()+" "+subsystem+" "+msg)
		mu.Unlock()
	})
	defer SetLogFunc(0, nil)
	k, err := NewKube(&KubeOptions{KubeconfigData: unreachableKubeconfig, MaxRetries: 1, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	if _, err := k.ServerVersion(); !errors.Is(err, ErrConnect) {
		t.Fatalf("want ECONNECT, got %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	found := false
	for _, g := range got {
		if strings.HasPrefix(g, "LOG_DEBUG kube ") && strings.Contains(g, "retry") {
			found = true
		}
	}
	if !found {
		t.Fatalf("no retry message logged: %q", got)
	}
	if SlogLevel(LOG_ERROR) >= SlogLevel(LOG_INFO) == false || SlogLevel(LOG_TRACE) >= SlogLevel(LOG_DEBUG) {
		t.Fatal("slog level order")
	}
}

func TestSetLogger(t *testing.T) {
	SetLogger(nil, 0)
	var sb strings.Builder
	var mu sync.Mutex
	l := newTextLogger(&mu, &sb)
	SetLogger(l, LOG_DEBUG)
	k, _ := NewKube(&KubeOptions{KubeconfigData: unreachableKubeconfig, MaxRetries: 1, Timeout: time.Second})
	k.ServerVersion()
	k.Close()
	SetLogger(nil, 0)
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(sb.String(), "subsystem=kube") {
		t.Fatalf("slog output: %q", sb.String())
	}
}

// Every generated low-level function is used by the idiomatic layer or the
// tests, so a new header cannot land without its Go API.
func TestEveryGeneratedFunctionIsWrapped(t *testing.T) {
	files, _ := filepath.Glob("*.go")
	var src strings.Builder
	for _, f := range files {
		if strings.HasPrefix(f, "zz_") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		src.Write(b)
	}
	n := 0
	for _, h := range generatedFunctions {
		for _, fn := range h.functions {
			n++
			if !regexp.MustCompile(`\b` + fn + `\b`).MatchString(src.String()) {
				t.Errorf("%s (%s) is generated but nothing in the Go package calls it", fn, h.header)
			}
		}
	}
	if n == 0 {
		t.Fatal("no generated functions")
	}
}

func TestGeneratedCodeIsGofmt(t *testing.T) {
	b, err := os.ReadFile("zz_generated.go")
	if err != nil {
		t.Fatal(err)
	}
	f, err := format.Source(b)
	if err != nil || string(f) != string(b) {
		t.Fatalf("zz_generated.go is not gofmt-clean (err %v)", err)
	}
}
