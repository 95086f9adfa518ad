"""Syncer: the sync loop, driven one step at a time (include/vcluster/syncer.h).

The syncer owns no thread and no loop. Drive it yourself:

    with Syncer(host, virt, "my-vc") as s:
        while True:
            s.step(timeout_ms=s.timeout_ms())        # blocks at most that long
            for ev in s.events():
                print(ev)

or from asyncio, where the syncer's fd wakes the loop (`run_async`).
"""
from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any, AsyncIterator, Callable, Iterator, List, Optional

from . import _lowlevel as ll
from ._handle import Handle
from ._options import fill
from ._support import pystr, release
from ._vcluster import ffi
from .config import Config
from .errors import ERRORS, Error
from .kube import Kube


def _histogram(h: Any) -> dict:
    """A vc_syncer_histogram (borrowed) as {"count", "sum", "buckets"}: the
    buckets cumulative, as Prometheus has them, the last one +inf."""
    if h == ffi.NULL:
        return {"count": 0, "sum": 0.0, "buckets": []}
    buckets, cum = [], 0
    for i in range(h.n_bounds + 1):
        cum += h.counts[i]
        buckets.append((h.bounds[i] if i < h.n_bounds else float("inf"), cum))
    return {"count": h.count, "sum": h.sum, "buckets": buckets}


@dataclass(frozen=True)
class SyncEvent:
    """One thing the syncer did or failed to do (a copy of vc_sync_event)."""
    type: ll.SyncEventType
    kind: str
    virtual_namespace: str
    virtual_name: str
    host_name: str
    error: Optional[Error]

    def __str__(self) -> str:
        obj = f"{self.virtual_namespace}/{self.virtual_name}" if self.virtual_namespace else self.virtual_name
        s = f"{self.type.name} {self.kind} {obj}".rstrip()
        if self.host_name:
            s += f" -> {self.host_name}"
        return s + (f": {self.error}" if self.error else "")


def _event(ev: Any) -> SyncEvent:
    err = None
    e = ev.error  # a pointer (vc_error may grow); never NULL
    if e != ffi.NULL and e.code != 0:
        cls = ERRORS.get(e.code, Error)
        err = cls(e.code, pystr(e.message), klass=e.klass,
                  http_status=e.http_status, reason=pystr(e.reason))
    try:
        t = ll.SyncEventType(ev.type)
    except ValueError:  # newer library
        t = ev.type
    return SyncEvent(t, pystr(ev.kind), pystr(ev.virtual_namespace), pystr(ev.virtual_name),
                     pystr(ev.host_name), err)


class Syncer(Handle):
    """A syncer between `host` (the host namespace) and `virt` (the virtual
    cluster). It holds its own references on both connections."""

    def __init__(self, host: Kube, virt: Kube, name: str, *, host_namespace: Optional[str] = None,
                 service_name: Optional[str] = None, cluster_domain: Optional[str] = None,
                 config_yaml: Optional[str] = None, config: Optional[Config] = None,
                 coredns_image: Optional[str] = None,
                 flags: int = 0, host_qps: float = 0.0, host_burst: int = 0,
                 max_reconciles_per_step: int = 0, resync_seconds: int = 0,
                 kubelet_address: Optional[str] = None, kubelet_port: int = 0,
                 leader_elect: bool = False, lease_name: Optional[str] = None,
                 identity: Optional[str] = None, lease_duration_ms: int = 0,
                 renew_deadline_ms: int = 0, retry_period_ms: int = 0) -> None:
        """kubelet_address/kubelet_port: the kubelet endpoint fake nodes
        advertise (a KubeletProxy's listening IP and port), or None/0.
        leader_elect: elect a leader among the syncers of this virtual
        cluster (a Lease in the host namespace, lease_name or
        "vcluster-<name>-controller"; identity or host name + a random
        suffix; 0 timings: 15000/10000/2000 ms); only the leader writes.
        config: parsed values (a Config, read during this call only), or
        config_yaml: the same as text, parsed again; not both."""
        keep: List[Any] = []
        opts = fill(ll.syncer_options_init(), keep, name=name, host_namespace=host_namespace,
                    service_name=service_name, cluster_domain=cluster_domain, config_yaml=config_yaml,
                    coredns_image=coredns_image, flags=flags, host_qps=host_qps, host_burst=host_burst,
                    max_reconciles_per_step=max_reconciles_per_step, resync_seconds=resync_seconds,
                    kubelet_address=kubelet_address, kubelet_port=kubelet_port,
                    leader_lease_name=lease_name, leader_identity=identity,
                    lease_duration_ms=lease_duration_ms, renew_deadline_ms=renew_deadline_ms,
                    retry_period_ms=retry_period_ms)
        if leader_elect:
            opts.flags |= ll.SYNCER_LEADER_ELECT
        if config is not None:
            opts.config = config._h()
        self._adopt(ll.syncer_new(host, virt, opts))

    def fileno(self) -> int:
        """A POLLIN-pollable fd (for select/selectors/asyncio); do not read or close it."""
        return ll.syncer_get_fd(self._h())

    def timeout_ms(self) -> int:
        """How long to wait before the next step: 0 = work is ready, -1 = only I/O can wake it."""
        return ll.syncer_get_timeout(self._h())

    def step(self, timeout_ms: int = 0) -> ll.StepState:
        """One step: wait up to timeout_ms for I/O (0 never blocks), process, return."""
        return ll.StepState(ll.syncer_step(self._h(), timeout_ms))

    def next_event(self) -> Optional[SyncEvent]:
        """The next queued event, or None when drained."""
        rc, ev = ll.syncer_next_event(self._h())
        if rc == ll.ITEROVER or ev is None:
            return None
        try:
            return _event(ev)
        finally:
            release(ev)  # vc_sync_event_free() now, not at collection

    def events(self) -> Iterator[SyncEvent]:
        """Drain the queued events."""
        while True:
            ev = self.next_event()
            if ev is None:
                return
            yield ev

    def wakeup(self) -> None:
        """Make a step blocked in its wait return early (thread-safe)."""
        ll.syncer_wakeup(self._h())

    def stop(self) -> None:
        """Ask the syncer to stop; a later step reports StepState.STOPPED."""
        ll.syncer_stop(self._h())

    def stats(self) -> dict:
        """The counters (vc_syncer_stats) as a dict."""
        st = ll.syncer_stats_get(self._h())
        from ._vcluster import ffi
        return {f: getattr(st, f) for f, _ in ffi.typeof("vc_syncer_stats").fields if f != "version"}

    def controller_stats(self) -> List[dict]:
        """Per controller (controller-runtime's metrics): name, kind,
        reconcile_success/error/requeue/requeue_after, queue_depth/adds/
        retries, object counts, and the histograms reconcile_time and
        queue_wait as {"count", "sum", "buckets": [(upper bound s, cumulative count), ...]}."""
        out = []
        i = 0
        while True:
            rc, st = ll.syncer_controller_stats_get(self._h(), i)
            if rc == ll.Status.ITEROVER:
                return out
            d = {f: getattr(st, f) for f in ("queue_depth", "reconcile_success", "reconcile_error",
                                             "reconcile_requeue", "reconcile_requeue_after", "queue_adds",
                                             "queue_retries", "virtual_objects", "host_objects")}
            d.update(name=pystr(st.name), kind=pystr(st.kind), synced=bool(st.synced),
                     reconcile_time=_histogram(st.reconcile_time), queue_wait=_histogram(st.queue_wait))
            out.append(d)
            i += 1

    def request_stats(self) -> List[dict]:
        """Requests by cluster ("host"/"virtual"), host, method and HTTP code
        (0: no answer), with count and a latency histogram (as in controller_stats)."""
        out = []
        i = 0
        while True:
            rc, st = ll.syncer_request_stats_get(self._h(), i)
            if rc == ll.Status.ITEROVER:
                return out
            out.append(dict(cluster=pystr(st.cluster), host=pystr(st.host), method=pystr(st.method),
                            code=st.code, count=st.count, latency=_histogram(st.latency)))
            i += 1

    def stats_by_kind(self) -> Any:
        """Per-kind detail: {"Pod": {"virtual": N, "host": N, "synced": true}, ...}."""
        return json.loads(ll.syncer_stats_json(self._h()))

    async def run_async(self, on_event: Optional[Callable[[SyncEvent], None]] = None,
                        until: Optional[Callable[[], bool]] = None) -> ll.StepState:
        """Drive the syncer from the running asyncio loop: the fd is watched
        with loop.add_reader, the timeout with a timer; every step is
        non-blocking. Returns when `until()` is true (checked after each
        step) or the syncer stopped; cancel the task to leave early."""
        loop = asyncio.get_running_loop()
        wake = asyncio.Event()
        fd = self.fileno()
        loop.add_reader(fd, wake.set)
        try:
            while True:
                state = self.step(0)
                for ev in self.events():
                    if on_event:
                        on_event(ev)
                if state == ll.StepState.STOPPED or (until is not None and until()):
                    return state
                t = self.timeout_ms()
                if t == 0:
                    await asyncio.sleep(0)
                    continue
                wake.clear()
                try:
                    await asyncio.wait_for(wake.wait(), None if t < 0 else t / 1000.0)
                except asyncio.TimeoutError:
                    pass
        finally:
            loop.remove_reader(fd)

    async def events_async(self) -> AsyncIterator[SyncEvent]:
        """Yield events as the syncer runs in the asyncio loop (until it stops)."""
        q: "asyncio.Queue[SyncEvent]" = asyncio.Queue()
        task = asyncio.ensure_future(self.run_async(q.put_nowait))
        try:
            while not (task.done() and q.empty()):
                get = asyncio.ensure_future(q.get())
                done, _ = await asyncio.wait({get, task}, return_when=asyncio.FIRST_COMPLETED)
                if get in done:
                    yield get.result()
                else:
                    get.cancel()
        finally:
            task.cancel()
