package vcluster

/*
#include "zz_shims.h"
*/
import "C"

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"time"
	"unsafe"
)

// SyncerOptions describe a syncer (vc_syncer_options); zero values are defaults.
type SyncerOptions struct {
	Name                 string // the virtual cluster's name (required)
	HostNamespace        string // "" = "vcluster-<name>"
	ServiceName          string // host Service of the virtual API server ("" = Name)
	ClusterDomain        string
	Config               *Config // parsed vcluster.yaml (sync.toHost/fromHost options); nil = ConfigYAML
	ConfigYAML           string  // vcluster.yaml text, parsed again by the syncer (set one of the two)
	CoreDNSImage         string
	Flags                uint32 // SYNCER_*
	HostQPS              float64
	HostBurst            int
	MaxReconcilesPerStep int
	ResyncSeconds        int    // 0: 300; < 0: never
	KubeletAddress       string // IP fake nodes advertise as their kubelet (a kubelet proxy); "" = none
	KubeletPort          int    // port of that kubelet endpoint; 0 = none
	// Leader election among the syncers of one virtual cluster (sets
	// SYNCER_LEADER_ELECT): a Lease in the host namespace; only the leader
	// writes, standbys keep their caches warm.
	LeaderElect   bool
	LeaseName     string        // "" = "vcluster-<name>-controller"
	Identity      string        // "" = host name + a random suffix
	LeaseDuration time.Duration // 0 = 15s
	RenewDeadline time.Duration // 0 = 10s
	RetryPeriod   time.Duration // 0 = 2s
}

// SyncEvent is one thing the syncer did or failed to do.
type SyncEvent struct {
	Type             SyncEventType
	Kind             string
	VirtualNamespace string
	VirtualName      string
	HostName         string
	Err              error // an *Error for SYNC_ERROR events, else nil
}

func (e SyncEvent) String() string {
	obj := e.VirtualName
	if e.VirtualNamespace != "" {
		obj = e.VirtualNamespace + "/" + obj
	}
	s := fmt.Sprintf("%s %s %s", e.Type.Name(), e.Kind, obj)
	if e.HostName != "" {
		s += " -> " + e.HostName
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Syncer keeps the host namespace in sync with the virtual cluster, one
// step at a time (vc_syncer). It holds its own references on both Kubes.
// Use it from one goroutine; only Wakeup may be called from another.
type Syncer struct {
	c *C.vc_syncer
}

// NewSyncer creates a syncer; no request is made before the first Step.
func NewSyncer(host, virt *Kube, o SyncerOptions) (*Syncer, error) {
	if err := ensureInit(); err != nil {
		return nil, err
	}
	defer runtime.KeepAlive(host)
	defer runtime.KeepAlive(virt)
	defer runtime.KeepAlive(o.Config)
	var opts C.vc_syncer_options
	if _, err := vc_syncer_options_init(&opts, SYNCER_OPTIONS_VERSION); err != nil {
		return nil, err
	}
	var cs cstrings
	defer cs.free()
	opts.flags = C.uint32_t(o.Flags)
	opts.name = cs.str(o.Name)
	opts.host_namespace = cs.opt(o.HostNamespace)
	opts.service_name = cs.opt(o.ServiceName)
	opts.cluster_domain = cs.opt(o.ClusterDomain)
	opts.config_yaml = cs.opt(o.ConfigYAML)
	if o.Config != nil {
		opts.config = o.Config.handle()
	}
	opts.coredns_image = cs.opt(o.CoreDNSImage)
	opts.host_qps = C.double(o.HostQPS)
	opts.host_burst = C.int32_t(o.HostBurst)
	opts.max_reconciles_per_step = C.int32_t(o.MaxReconcilesPerStep)
	opts.resync_seconds = C.int32_t(o.ResyncSeconds)
	opts.kubelet_address = cs.opt(o.KubeletAddress)
	opts.kubelet_port = C.int32_t(o.KubeletPort)
	if o.LeaderElect {
		opts.flags |= C.uint32_t(SYNCER_LEADER_ELECT)
	}
	opts.leader_lease_name = cs.opt(o.LeaseName)
	opts.leader_identity = cs.opt(o.Identity)
	opts.lease_duration_ms = C.int32_t(o.LeaseDuration.Milliseconds())
	opts.renew_deadline_ms = C.int32_t(o.RenewDeadline.Milliseconds())
	opts.retry_period_ms = C.int32_t(o.RetryPeriod.Milliseconds())
	s := &Syncer{}
	if _, err := vc_syncer_new(&s.c, host.handle(), virt.handle(), &opts); err != nil {
		return nil, err
	}
	runtime.SetFinalizer(s, (*Syncer).Close)
	return s, nil
}

// Close releases the syncer; in-flight requests are abandoned (idempotent).
func (s *Syncer) Close() error {
	if s.c != nil {
		vc_syncer_free(s.c)
		s.c = nil
		runtime.SetFinalizer(s, nil)
	}
	return nil
}

func (s *Syncer) handle() *C.vc_syncer {
	if s == nil || s.c == nil {
		panic("vcluster: use of a closed Syncer")
	}
	return s.c
}

// Fd is a POLLIN-pollable descriptor; do not read or close it.
func (s *Syncer) Fd() (int, error) {
	defer runtime.KeepAlive(s)
	rc, err := vc_syncer_get_fd(s.handle())
	return int(rc), err
}

// Timeout is how long the caller may wait before the next step: 0 when work
// is ready, -1 when only I/O can wake it.
func (s *Syncer) Timeout() (time.Duration, error) {
	defer runtime.KeepAlive(s)
	var ms C.int64_t
	if _, err := vc_syncer_get_timeout(s.handle(), &ms); err != nil {
		return 0, err
	}
	if ms < 0 {
		return -1, nil
	}
	return time.Duration(ms) * time.Millisecond, nil
}

// Step waits at most timeout for I/O (0 never blocks), processes what
// arrived and runs due reconciles.
func (s *Syncer) Step(timeout time.Duration) (StepState, error) {
	defer runtime.KeepAlive(s)
	var st C.int32_t
	_, err := vc_syncer_step(s.handle(), C.int32_t(timeout/time.Millisecond), &st)
	return StepState(st), err
}

// NextEvent takes the next queued event; ok is false when none is queued.
func (s *Syncer) NextEvent() (ev SyncEvent, ok bool, err error) {
	defer runtime.KeepAlive(s)
	var e *C.vc_sync_event
	rc, err := vc_syncer_next_event(&e, s.handle())
	if err != nil || Status(rc) == ITEROVER || e == nil {
		return SyncEvent{}, false, err
	}
	defer vc_sync_event_free(e)
	ev = SyncEvent{
		Type:             SyncEventType(e._type),
		Kind:             gostr(e.kind),
		VirtualNamespace: gostr(e.virtual_namespace),
		VirtualName:      gostr(e.virtual_name),
		HostName:         gostr(e.host_name),
	}
	if e.error != nil && e.error.code != 0 {
		ee := e.error
		ev.Err = &Error{Code: Status(ee.code), Class: ErrorClass(ee.klass),
			HTTPStatus: int(ee.http_status), Reason: gostr(ee.reason), Message: gostr(ee.message)}
	}
	return ev, true, nil
}

// Wakeup makes a Step blocked in its wait return early. Safe from any goroutine.
func (s *Syncer) Wakeup() error {
	defer runtime.KeepAlive(s)
	_, err := vc_syncer_wakeup(s.handle())
	return err
}

// Stop asks the syncer to stop; a later Step reports STEP_STOPPED.
func (s *Syncer) Stop() error {
	defer runtime.KeepAlive(s)
	_, err := vc_syncer_stop(s.handle())
	return err
}

// SyncerStats are the syncer's counters (vc_syncer_stats).
type SyncerStats struct {
	InformersSynced, Informers, QueueDepth, InFlight, EventsDropped uint32
	HostWrites, VirtualWrites, Errors, Relists, Reconciles          uint64
	VirtualObjects, HostObjects                                     uint64
	// Why objects were refused (each also counts in Errors), and the
	// Warning events put on virtual objects.
	RefusedPodSecurity, RefusedByHost, RefusedNameTaken, Warnings uint64
	// Leader election: this syncer's state, how often it became the
	// leader, its renewals, and writes withheld because it did not lead.
	LeaderState                   LeaderState
	LeaderAcquired                uint32
	LeaseRenewals, WritesWithheld uint64
}

// Stats reads the counters.
func (s *Syncer) Stats() (SyncerStats, error) {
	defer runtime.KeepAlive(s)
	var st C.vc_syncer_stats
	st.version = SYNCER_STATS_VERSION
	if _, err := vc_syncer_stats_get(s.handle(), &st); err != nil {
		return SyncerStats{}, err
	}
	return SyncerStats{
		InformersSynced: uint32(st.informers_synced), Informers: uint32(st.informers),
		QueueDepth: uint32(st.queue_depth), InFlight: uint32(st.in_flight), EventsDropped: uint32(st.events_dropped),
		HostWrites: uint64(st.host_writes), VirtualWrites: uint64(st.virtual_writes), Errors: uint64(st.errors),
		Relists: uint64(st.relists), Reconciles: uint64(st.reconciles),
		VirtualObjects: uint64(st.virtual_objects), HostObjects: uint64(st.host_objects),
		RefusedPodSecurity: uint64(st.refused_pod_security), RefusedByHost: uint64(st.refused_by_host),
		RefusedNameTaken: uint64(st.refused_name_taken), Warnings: uint64(st.warnings),
		LeaderState: LeaderState(st.leader_state), LeaderAcquired: uint32(st.leader_acquired),
		LeaseRenewals: uint64(st.lease_renewals), WritesWithheld: uint64(st.writes_withheld),
	}, nil
}

// Histogram is a duration histogram of the syncer's stats, as Prometheus
// has it: Buckets[i] counts the observations <= Bounds[i] (cumulative);
// Count includes those above the last bound.
type Histogram struct {
	Count   uint64
	Sum     float64 // seconds
	Bounds  []float64
	Buckets []uint64
}

func histogramOf(h *C.vc_syncer_histogram) Histogram {
	if h == nil {
		return Histogram{}
	}
	n := int(h.n_bounds)
	bounds := unsafe.Slice((*float64)(unsafe.Pointer(h.bounds)), n)
	counts := unsafe.Slice((*uint64)(unsafe.Pointer(h.counts)), n+1)
	r := Histogram{Count: uint64(h.count), Sum: float64(h.sum), Bounds: append([]float64(nil), bounds...),
		Buckets: make([]uint64, n)}
	var cum uint64
	for i := 0; i < n; i++ {
		cum += counts[i]
		r.Buckets[i] = cum
	}
	return r
}

// ControllerStats is what one controller did (controller-runtime's
// per-controller metrics): vc_syncer_controller_stats.
type ControllerStats struct {
	Name, Kind                                                                string
	ReconcileSuccess, ReconcileError, ReconcileRequeue, ReconcileRequeueAfter uint64
	QueueDepth                                                                uint32
	QueueAdds, QueueRetries, VirtualObjects, HostObjects                      uint64
	Synced                                                                    bool
	ReconcileTime, QueueWait                                                  Histogram
}

// ControllerStats reads every running controller's numbers.
func (s *Syncer) ControllerStats() ([]ControllerStats, error) {
	defer runtime.KeepAlive(s)
	var res []ControllerStats
	for i := 0; ; i++ {
		var st C.vc_syncer_controller_stats
		st.version = SYNCER_CONTROLLER_STATS_VERSION
		rc, err := vc_syncer_controller_stats_get(s.handle(), C.uint32_t(i), &st)
		if err != nil {
			return nil, err
		}
		if Status(rc) == ITEROVER {
			return res, nil
		}
		res = append(res, ControllerStats{
			Name: gostr(st.name), Kind: gostr(st.kind),
			ReconcileSuccess: uint64(st.reconcile_success), ReconcileError: uint64(st.reconcile_error),
			ReconcileRequeue: uint64(st.reconcile_requeue), ReconcileRequeueAfter: uint64(st.reconcile_requeue_after),
			QueueDepth: uint32(st.queue_depth), QueueAdds: uint64(st.queue_adds), QueueRetries: uint64(st.queue_retries),
			VirtualObjects: uint64(st.virtual_objects), HostObjects: uint64(st.host_objects), Synced: st.synced != 0,
			ReconcileTime: histogramOf(st.reconcile_time), QueueWait: histogramOf(st.queue_wait),
		})
	}
}

// RequestStats is one row of the syncer's request counts: requests to one
// API server ("host" or "virtual" cluster) with one method and one answer
// (Code 0: none).
type RequestStats struct {
	Cluster, Host, Method string
	Code                  int
	Count                 uint64
	Latency               Histogram
}

// RequestStats reads every row.
func (s *Syncer) RequestStats() ([]RequestStats, error) {
	defer runtime.KeepAlive(s)
	var res []RequestStats
	for i := 0; ; i++ {
		var st C.vc_syncer_request_stats
		st.version = SYNCER_REQUEST_STATS_VERSION
		rc, err := vc_syncer_request_stats_get(s.handle(), C.uint32_t(i), &st)
		if err != nil {
			return nil, err
		}
		if Status(rc) == ITEROVER {
			return res, nil
		}
		res = append(res, RequestStats{Cluster: gostr(st.cluster), Host: gostr(st.host), Method: gostr(st.method),
			Code: int(st.code), Count: uint64(st.count), Latency: histogramOf(st.latency)})
	}
}

// StatsJSON is the per-kind detail as JSON.
func (s *Syncer) StatsJSON() (string, error) {
	defer runtime.KeepAlive(s)
	return buf1(func(out *C.vc_buf) (C.int, error) { return vc_syncer_stats_json(s.handle(), out) })
}

// MaxWait bounds one blocking Step in Run, so ctx is checked at least this often
// even if a wakeup were lost.
const MaxWait = time.Second

// Run drives the syncer until ctx is done or the syncer stops, calling
// onEvent (may be nil) for every event. Each step blocks in C for at most
// the syncer's own timeout (capped at MaxWait); cancelling ctx wakes it at
// once through Wakeup. On cancellation Run returns ctx.Err() without
// stopping the syncer (call Stop, then Run again with a fresh context, for a
// clean shutdown).
func (s *Syncer) Run(ctx context.Context, onEvent func(SyncEvent)) error {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	defer wg.Wait() // no Wakeup after Run returned (the caller may Close next)
	defer close(done)
	go func() {
		defer wg.Done()
		select {
		case <-ctx.Done():
			s.Wakeup()
		case <-done:
		}
	}()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		wait, err := s.Timeout()
		if err != nil {
			return err
		}
		if wait < 0 || wait > MaxWait {
			wait = MaxWait
		}
		st, err := s.Step(wait)
		if err != nil {
			return err
		}
		for {
			ev, ok, err := s.NextEvent()
			if err != nil {
				return err
			}
			if !ok {
				break
			}
			if onEvent != nil {
				onEvent(ev)
			}
		}
		if st == STEP_STOPPED {
			return nil
		}
	}
}
