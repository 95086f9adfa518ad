// netshim forwards TCP and unix-socket connections between network
// namespaces.  It runs in whatever network namespace it is started in
// (hostcluster starts it with `nsenter --net=...`); a unix socket is reachable
// from every namespace that shares the filesystem, which is what carries
// connections across.
//
//	netshim [--forward LISTEN=TARGET]... [--connect-proxy unix:PATH]... [--pidfile F]
//
// LISTEN and TARGET are tcp:HOST:PORT or unix:PATH.  A forward accepts on
// LISTEN and, for each connection, dials TARGET and copies both ways,
// half-closing with CloseWrite when one side is done.
//
// --connect-proxy unix:PATH serves HTTP CONNECT on a unix socket, the
// kube-apiserver EgressSelectorConfiguration `proxyProtocol: HTTPConnect`
// with `transport.uds`: it reads `CONNECT host:port HTTP/1.1` and headers,
// dials host:port over TCP (10 s timeout), answers
// `HTTP/1.1 200 Connection established` (or 502 with the dial error) and then
// copies both ways.
//
// A stale unix socket file is removed before listening; the sockets are
// removed on SIGTERM/SIGINT, and netshim then exits 0.  Errors are logged to
// stderr, one line each, with a timestamp.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"
)

// dialTimeout bounds every outgoing dial (forward targets and CONNECT).
const dialTimeout = 10 * time.Second

// Addr is a parsed tcp:HOST:PORT or unix:PATH.
type Addr struct {
	Network string // "tcp" or "unix"
	Address string // HOST:PORT or PATH
}

func (a Addr) String() string { return a.Network + ":" + a.Address }

// ParseAddr parses tcp:HOST:PORT or unix:PATH.
func ParseAddr(s string) (Addr, error) {
	switch {
	case strings.HasPrefix(s, "tcp:"):
		hp := s[len("tcp:"):]
		if _, _, err := net.SplitHostPort(hp); err != nil {
			return Addr{}, fmt.Errorf("%q: %v", s, err)
		}
		return Addr{"tcp", hp}, nil
	case strings.HasPrefix(s, "unix:"):
		p := s[len("unix:"):]
		if p == "" {
			return Addr{}, fmt.Errorf("%q: empty path", s)
		}
		return Addr{"unix", p}, nil
	}
	return Addr{}, fmt.Errorf("%q: want tcp:HOST:PORT or unix:PATH", s)
}

// Forward is one --forward LISTEN=TARGET.
type Forward struct{ Listen, Target Addr }

// ParseForward parses LISTEN=TARGET.
func ParseForward(s string) (Forward, error) {
	l, t, ok := strings.Cut(s, "=")
	if !ok {
		return Forward{}, fmt.Errorf("--forward %q: want LISTEN=TARGET", s)
	}
	la, err := ParseAddr(l)
	if err != nil {
		return Forward{}, fmt.Errorf("--forward listen %v", err)
	}
	ta, err := ParseAddr(t)
	if err != nil {
		return Forward{}, fmt.Errorf("--forward target %v", err)
	}
	return Forward{la, ta}, nil
}

// Listen listens on a; for a unix socket a stale socket file is removed first
// (and only a socket: any other file there is an error).
func Listen(a Addr) (net.Listener, error) {
	if a.Network == "unix" {
		if fi, err := os.Lstat(a.Address); err == nil {
			if fi.Mode()&os.ModeSocket == 0 {
				return nil, fmt.Errorf("listen %s: exists and is not a socket", a)
			}
			if err := os.Remove(a.Address); err != nil {
				return nil, fmt.Errorf("listen %s: removing stale socket: %v", a, err)
			}
		}
	}
	l, err := net.Listen(a.Network, a.Address)
	if err != nil {
		return nil, err
	}
	if ul, ok := l.(*net.UnixListener); ok {
		// we remove the file ourselves on shutdown (after Close, which
		// would otherwise do it too)
		ul.SetUnlinkOnClose(false)
	}
	return l, nil
}

// halfCloser is a connection whose write side can be closed alone
// (*net.TCPConn, *net.UnixConn).
type halfCloser interface {
	CloseWrite() error
}

// pipe copies a→b and b→a until both directions are done.  When one
// direction reaches EOF, the other side's write half is closed so that the
// peer sees EOF too; the connections are closed at the end.  a's reader may
// be buffered (the CONNECT request reader), hence ar.
func pipe(a net.Conn, ar io.Reader, b net.Conn) {
	var wg sync.WaitGroup
	cp := func(dst net.Conn, src io.Reader) {
		defer wg.Done()
		_, err := io.Copy(dst, src)
		if hc, ok := dst.(halfCloser); ok && err == nil {
			hc.CloseWrite()
		} else {
			// no half-close possible, or the copy failed: tear both down
			a.Close()
			b.Close()
		}
	}
	wg.Add(2)
	go cp(b, ar)
	go cp(a, b)
	wg.Wait()
	a.Close()
	b.Close()
}

// serveForward accepts on l and forwards each connection to target.
func serveForward(l net.Listener, target Addr) error {
	for {
		c, err := l.Accept()
		if err != nil {
			return err
		}
		go func() {
			t, err := net.DialTimeout(target.Network, target.Address, dialTimeout)
			if err != nil {
				log.Printf("forward %s -> %s: %v", l.Addr(), target, err)
				c.Close()
				return
			}
			pipe(c, c, t)
		}()
	}
}

// serveConnect accepts on l and serves HTTP CONNECT on each connection.
func serveConnect(l net.Listener) error {
	for {
		c, err := l.Accept()
		if err != nil {
			return err
		}
		go handleConnect(c)
	}
}

func handleConnect(c net.Conn) {
	br := bufio.NewReader(c)
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	req, err := http.ReadRequest(br)
	if err != nil {
		log.Printf("connect-proxy %s: reading request: %v", c.LocalAddr(), err)
		c.Close()
		return
	}
	c.SetReadDeadline(time.Time{})
	if req.Method != http.MethodConnect {
		log.Printf("connect-proxy %s: method %s, want CONNECT", c.LocalAddr(), req.Method)
		io.WriteString(c, "HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
		c.Close()
		return
	}
	host := req.Host
	if host == "" && req.URL != nil {
		host = req.URL.Host
	}
	t, err := net.DialTimeout("tcp", host, dialTimeout)
	if err != nil {
		log.Printf("connect-proxy %s: CONNECT %s: %v", c.LocalAddr(), host, err)
		msg := err.Error() + "\n"
		fmt.Fprintf(c, "HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", len(msg), msg)
		c.Close()
		return
	}
	if _, err := io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		log.Printf("connect-proxy %s: CONNECT %s: %v", c.LocalAddr(), host, err)
		c.Close()
		t.Close()
		return
	}
	// bytes the client sent after the request (already buffered) go first
	pipe(c, br, t)
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(s string) error { *m = append(*m, s); return nil }

// Shim is a set of listeners being served.
type Shim struct {
	listeners []net.Listener
	sockets   []string
	closing   chan struct{}
	once      sync.Once
	wg        sync.WaitGroup
	errs      chan error
}

// Start listens on every forward and connect-proxy socket (all or nothing)
// and starts serving.
func Start(fwds []Forward, proxies []Addr) (*Shim, error) {
	s := &Shim{closing: make(chan struct{}), errs: make(chan error, len(fwds)+len(proxies))}
	listen := func(a Addr) (net.Listener, error) {
		l, err := Listen(a)
		if err != nil {
			s.Close()
			return nil, err
		}
		s.listeners = append(s.listeners, l)
		if a.Network == "unix" {
			s.sockets = append(s.sockets, a.Address)
		}
		return l, nil
	}
	var serve []func() error
	for _, f := range fwds {
		l, err := listen(f.Listen)
		if err != nil {
			return nil, err
		}
		target := f.Target
		serve = append(serve, func() error { return serveForward(l, target) })
	}
	for _, p := range proxies {
		l, err := listen(p)
		if err != nil {
			return nil, err
		}
		serve = append(serve, func() error { return serveConnect(l) })
	}
	for _, fn := range serve {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			err := fn()
			select {
			case <-s.closing:
			default:
				s.errs <- err
			}
		}()
	}
	return s, nil
}

// Errors delivers the error of a listener that failed outside Close.
func (s *Shim) Errors() <-chan error { return s.errs }

// Close stops the listeners and removes the unix sockets.
func (s *Shim) Close() {
	s.once.Do(func() {
		close(s.closing)
		for _, l := range s.listeners {
			l.Close()
		}
		for _, p := range s.sockets {
			if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
				log.Printf("removing %s: %v", p, err)
			}
		}
	})
	s.wg.Wait()
}

func main() {
	log.SetFlags(log.LstdFlags | log.LUTC | log.Lmicroseconds)
	log.SetPrefix("netshim: ")
	var fwdArgs, proxyArgs multiFlag
	pidfile := flag.String("pidfile", "", "write the pid to this file (removed on exit)")
	flag.Var(&fwdArgs, "forward", "LISTEN=TARGET, each tcp:HOST:PORT or unix:PATH (repeatable)")
	flag.Var(&proxyArgs, "connect-proxy", "unix:PATH: serve HTTP CONNECT there (repeatable)")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: netshim [--forward LISTEN=TARGET]... [--connect-proxy unix:PATH]... [--pidfile F]\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	var fwds []Forward
	for _, a := range fwdArgs {
		f, err := ParseForward(a)
		if err != nil {
			log.Print(err)
			os.Exit(2)
		}
		fwds = append(fwds, f)
	}
	var proxies []Addr
	for _, a := range proxyArgs {
		p, err := ParseAddr(a)
		if err != nil || p.Network != "unix" {
			log.Printf("--connect-proxy %q: want unix:PATH", a)
			os.Exit(2)
		}
		proxies = append(proxies, p)
	}
	if len(fwds) == 0 && len(proxies) == 0 {
		log.Print("nothing to do: give --forward or --connect-proxy")
		os.Exit(2)
	}

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	signal.Ignore(syscall.SIGPIPE)

	s, err := Start(fwds, proxies)
	if err != nil {
		log.Print(err)
		os.Exit(1)
	}
	if *pidfile != "" {
		if err := os.WriteFile(*pidfile, fmt.Appendf(nil, "%d\n", os.Getpid()), 0o644); err != nil {
			log.Print(err)
			s.Close()
			os.Exit(1)
		}
		defer os.Remove(*pidfile)
	}
	code := 0
	select {
	case <-sigs:
	case err := <-s.Errors():
		log.Printf("listener failed: %v", err)
		code = 1
	}
	s.Close()
	if *pidfile != "" {
		os.Remove(*pidfile)
	}
	os.Exit(code)
}
