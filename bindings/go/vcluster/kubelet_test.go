package vcluster

import (
	"crypto/tls"
	"errors"
	"net"
	"testing"
	"time"
)

// The kubelet proxy without a cluster: a client CA is required, a bad one
// is a TLS error, and a TLS client without a certificate is refused.
func TestKubeletProxyOffline(t *testing.T) {
	host, err := NewKube(&KubeOptions{KubeconfigData: unreachableKubeconfig, NoRetry: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer host.Close()
	if _, err := NewKubeletProxy(host, KubeletProxyOptions{Name: "vc"}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("no client CA: %v", err)
	}
	if _, err := NewKubeletProxy(host, KubeletProxyOptions{Name: "vc", ClientCAPEM: "not PEM"}); !errors.Is(err, ErrTLS) {
		t.Fatalf("bad client CA: %v", err)
	}
	// any valid CA: the client below has no certificate at all
	p, err := NewKubeletProxy(host, KubeletProxyOptions{Name: "vc", ClientCAPEM: testCAPEM, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	done := make(chan error, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		f, err := c.(*net.TCPConn).File()
		if err != nil {
			done <- err
			return
		}
		defer f.Close()
		done <- p.ServeFD(int(f.Fd()))
	}()
	conn, err := tls.Dial("tcp", l.Addr().String(), &tls.Config{InsecureSkipVerify: true}) //nolint:gosec
	if err == nil {
		_, err = conn.Write([]byte("GET /healthz HTTP/1.1\r\n\r\n"))
		if err == nil {
			_, err = conn.Read(make([]byte, 1))
		}
		conn.Close()
	}
	if err == nil {
		t.Fatal("a client without a certificate was served")
	}
	if serr := <-done; !errors.Is(serr, ErrTLS) {
		t.Fatalf("ServeFD: %v, want a TLS error", serr)
	}
	p.Close()
	p.Close() // idempotent
}

// A self-signed CA certificate (EC P-256), only parsed.
const testCAPEM = `-----BEGIN CERTIFICATE-----
MIIBejCCAR+gAwIBAgIUezFsIcAlXbBpoT/fnMSJlGyf+pYwCgYIKoZIzj0EAwIw
EjEQMA4GA1UEAwwHdGVzdC1jYTAeFw0yNjEyMDMwNzMzMjJaFw0zNjExMzAwNzMz
MjJaMBIxEDAOBgNVBAMMB3Rlc3QtY2EwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNC
AASevu7uP3orOXXQZZi8KLtFJbKl1ZwgGnoI4gVDX9/AUVuFdmUgKqbxyQq7dbQ+
n/m3Oopp1NaVHXQtAcKz287vo1MwUTAdBgNVHQ4EFgQUGX6ZS9Ni5mPZaLfUhnFg
M1kUpHwwHwYDVR0jBBgwFoAUGX6ZS9Ni5mPZaLfUhnFgM1kUpHwwDwYDVR0TAQH/
BAUwAwEB/zAKBggqhkjOPQQDAgNJADBGAiEAn3Vzykeehr6m/xOWjROZwkbO3G7h
UohNnEk7J2yeiawCIQDAUcMp9TPYir7/c3aKv2dnezvGpkS6R0vtMHwNJXutWg==
-----END CERTIFICATE-----
`
