// Command operator is a small operator-style program on libvcluster: it
// connects to a host cluster and a virtual cluster and drives the syncer
// with a context until SIGINT/SIGTERM, logging every sync event through
// log/slog. Without a virtual cluster it reports what a pod would look like
// on the host and the virtual clusters the host runs.
//
//	go run ./examples/operator -kubeconfig host.kubeconfig -virtual virt.kubeconfig -name demo
//
// Build flags for an uninstalled libvcluster: see doc/bindings.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/libvcluster/libvcluster/bindings/go/vcluster"
)

const demoPod = `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web","namespace":"shop"},
"spec":{"containers":[{"name":"nginx","image":"nginx:1.27"}]}}`

func main() {
	hostKC := flag.String("kubeconfig", os.Getenv("KUBECONFIG"), "host cluster kubeconfig")
	virtKC := flag.String("virtual", "", "virtual cluster kubeconfig (empty: translate and list only)")
	name := flag.String("name", "demo", "virtual cluster name")
	hostNS := flag.String("host-namespace", "", `host namespace (default "vcluster-<name>")`)
	verbose := flag.Bool("v", false, "debug logging from the library")
	flag.Parse()

	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	level := vcluster.LOG_INFO
	if *verbose {
		level = vcluster.LOG_DEBUG
	}
	vcluster.SetLogger(log, level)
	_, v := vcluster.Version()
	log.Info("libvcluster", "version", v)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, log, *hostKC, *virtKC, *name, *hostNS); err != nil && !errors.Is(err, context.Canceled) {
		var e *vcluster.Error
		if errors.As(err, &e) {
			log.Error("failed", "code", e.Code.Name(), "http", e.HTTPStatus, "reason", e.Reason, "msg", e.Message)
		} else {
			log.Error("failed", "err", err)
		}
		os.Exit(1)
	}
}

func run(ctx context.Context, log *slog.Logger, hostKC, virtKC, name, hostNS string) error {
	tr, err := vcluster.NewTranslator(vcluster.TranslateOptions{Name: name, HostNamespace: hostNS})
	if err != nil {
		return err
	}
	defer tr.Close()
	hostPod, err := tr.ToHost(demoPod, "", vcluster.ApplyDefaults|vcluster.Preview)
	if err != nil {
		return err
	}
	hn, _ := tr.HostName("Pod", "shop", "web")
	log.Info("translated", "virtual", "shop/web", "host", tr.HostNamespace()+"/"+hn, "bytes", len(hostPod))

	if hostKC == "" {
		fmt.Println(hostPod)
		return nil
	}
	host, err := vcluster.NewKube(&vcluster.KubeOptions{Kubeconfig: hostKC})
	if err != nil {
		return err
	}
	defer host.Close()
	ver, err := host.ServerVersion()
	if err != nil {
		return err
	}
	log.Info("host cluster", "server", host.Server(), "version", ver)
	clusters, err := vcluster.ListClusters(host, "")
	if err != nil {
		return err
	}
	for _, c := range clusters {
		log.Info("virtual cluster", "name", c.Name, "namespace", c.HostNamespace, "state", c.State.Name(), "driver", c.Driver)
	}
	if virtKC == "" {
		return nil
	}

	virt, err := vcluster.NewKube(&vcluster.KubeOptions{Kubeconfig: virtKC, QPS: -1})
	if err != nil {
		return err
	}
	defer virt.Close()
	s, err := vcluster.NewSyncer(host, virt, vcluster.SyncerOptions{Name: name, HostNamespace: hostNS})
	if err != nil {
		return err
	}
	defer s.Close()

	err = s.Run(ctx, func(ev vcluster.SyncEvent) {
		if ev.Err != nil {
			log.Warn("sync", "event", ev.String())
		} else {
			log.Info("sync", "event", ev.String())
		}
	})
	if errors.Is(err, context.Canceled) {
		log.Info("stopping the syncer")
		s.Stop()
		stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		err = s.Run(stopCtx, nil)
		if st, e := s.Stats(); e == nil {
			log.Info("final", "reconciles", st.Reconciles, "host_writes", st.HostWrites, "errors", st.Errors)
		}
	}
	return err
}
