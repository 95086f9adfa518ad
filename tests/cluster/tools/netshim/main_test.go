package main

import (
	"bufio"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// echoServer accepts on a fresh 127.0.0.1 port, echoes what it reads until
// EOF, then half-closes so the client sees EOF after all the data.
func echoServer(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.Copy(c, c)
				c.(*net.TCPConn).CloseWrite()
			}()
		}
	}()
	return l.Addr().String()
}

func freeTCP(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := l.Addr().String()
	l.Close()
	return a
}

func mustForward(t *testing.T, s string) Forward {
	t.Helper()
	f, err := ParseForward(s)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// roundTrip writes msg, half-closes, and expects msg back followed by EOF.
func roundTrip(t *testing.T, c net.Conn, msg string) {
	t.Helper()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, msg); err != nil {
		t.Fatal(err)
	}
	if err := c.(halfCloser).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if string(got) != msg {
		t.Fatalf("got %d bytes %.40q, want %d bytes %.40q", len(got), got, len(msg), msg)
	}
}

func TestParse(t *testing.T) {
	for _, bad := range []string{"", "tcp:nohost", "udp:1.2.3.4:5", "unix:", "x"} {
		if _, err := ParseAddr(bad); err == nil {
			t.Errorf("ParseAddr(%q) accepted", bad)
		}
	}
	if _, err := ParseForward("tcp:127.0.0.1:1"); err == nil {
		t.Error("forward without = accepted")
	}
	f := mustForward(t, "unix:/a/b=tcp:10.0.0.1:6443")
	if f.Listen != (Addr{"unix", "/a/b"}) || f.Target != (Addr{"tcp", "10.0.0.1:6443"}) {
		t.Errorf("ParseForward: %+v", f)
	}
}

// tcp -> unix -> tcp: two forwards chained through a unix socket (the way
// connections cross network namespaces), to an echo server.
func TestForwardTCPUnixTCP(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "s.sock")
	// a stale socket file must not stop us
	if l, err := net.Listen("unix", sock); err == nil {
		l.(*net.UnixListener).SetUnlinkOnClose(false)
		l.Close()
	}
	if _, err := os.Lstat(sock); err != nil {
		t.Fatalf("no stale socket to test with: %v", err)
	}
	echo := echoServer(t)
	front := freeTCP(t)
	s, err := Start([]Forward{
		mustForward(t, "unix:"+sock+"=tcp:"+echo),
		mustForward(t, "tcp:"+front+"=unix:"+sock),
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		c, err := net.Dial("tcp", front)
		if err != nil {
			t.Fatal(err)
		}
		roundTrip(t, c, strings.Repeat("hello through the shim ", 10000*(i+1)))
		c.Close()
	}
	s.Close()
	if _, err := os.Lstat(sock); !os.IsNotExist(err) {
		t.Errorf("socket not removed on Close: %v", err)
	}
	if _, err := net.Dial("tcp", front); err == nil {
		t.Error("tcp listener still accepting after Close")
	}
}

func TestListenRefusesNonSocket(t *testing.T) {
	p := filepath.Join(t.TempDir(), "file")
	os.WriteFile(p, []byte("x"), 0o644)
	if _, err := Listen(Addr{"unix", p}); err == nil {
		t.Fatal("listened over a regular file")
	}
}

func startProxy(t *testing.T) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "konnectivity.sock")
	s, err := Start(nil, []Addr{{"unix", sock}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return sock
}

func TestConnectProxy(t *testing.T) {
	echo := echoServer(t)
	sock := startProxy(t)
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	// the request and the first tunnel bytes in one write, as a client may do
	if _, err := io.WriteString(c, "CONNECT "+echo+" HTTP/1.1\r\nHost: "+echo+"\r\nUser-Agent: test\r\n\r\nearly "); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	line, err := br.ReadString('\n')
	if err != nil || line != "HTTP/1.1 200 Connection established\r\n" {
		t.Fatalf("status line %q, %v", line, err)
	}
	if blank, _ := br.ReadString('\n'); blank != "\r\n" {
		t.Fatalf("want an empty line after the status, got %q", blank)
	}
	io.WriteString(c, "bytes")
	c.(*net.UnixConn).CloseWrite()
	got, err := io.ReadAll(br)
	if err != nil || string(got) != "early bytes" {
		t.Fatalf("tunnel echoed %q, %v", got, err)
	}
}

func TestConnectProxyDialError(t *testing.T) {
	sock := startProxy(t)
	dead := freeTCP(t) // nothing listens there now
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(15 * time.Second))
	io.WriteString(c, "CONNECT "+dead+" HTTP/1.1\r\nHost: "+dead+"\r\n\r\n")
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "HTTP/1.1 502 ") {
		t.Fatalf("status line %q, %v", line, err)
	}
}
