package vcluster

import (
	"fmt"
	"os"
	"testing"
	"time"
)

// hostKubeconfig is the real host cluster's kubeconfig (tests/run starts it
// and exports VC_TEST_KUBECONFIG). Without it the test FAILS, unless
// VC_SKIP_CLUSTER=1 asks to skip integration tests explicitly.
func hostKubeconfig(t *testing.T) string {
	t.Helper()
	kc := os.Getenv("VC_TEST_KUBECONFIG")
	if kc != "" {
		if _, err := os.Stat(kc); err == nil {
			return kc
		}
	}
	if os.Getenv("VC_SKIP_CLUSTER") == "1" {
		t.Skip("VC_SKIP_CLUSTER=1: no host cluster")
	}
	t.Fatalf("no host cluster: VC_TEST_KUBECONFIG is %q. Run the suite through tests/run "+
		"(it starts tests/cluster/hostcluster), or set VC_SKIP_CLUSTER=1 to skip integration tests.", kc)
	return ""
}

func hostKube(t *testing.T) *Kube {
	t.Helper()
	k, err := NewKube(&KubeOptions{Kubeconfig: hostKubeconfig(t), Timeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.Close() })
	return k
}

// testNamespace creates a namespace that is deleted when the test ends.
func testNamespace(t *testing.T, k *Kube) string {
	t.Helper()
	name := fmt.Sprintf("go-%d-%d", time.Now().UnixNano()%1000000, os.Getpid()%1000)
	body := fmt.Sprintf(`{"apiVersion":"v1","kind":"Namespace","metadata":{"name":%q}}`, name)
	if _, _, err := k.Request("POST", "/api/v1/namespaces", []byte(body), ""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.Request("DELETE", "/api/v1/namespaces/"+name, nil, "") })
	return name
}

// unreachableKubeconfig points at a loopback port that refuses connections.
const unreachableKubeconfig = `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]
users: [{name: u, user: {token: abc}}]
contexts:
- {name: x, context: {cluster: c, user: u, namespace: ns1}}
- {name: other, context: {cluster: c, user: u}}
current-context: x
`
