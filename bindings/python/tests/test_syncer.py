"""syncer.h: a syncer between the host cluster and a virtual control plane,
driven by hand and from asyncio (loop.add_reader on its fd)."""
from __future__ import annotations

import asyncio
import os
import selectors
import subprocess
import time
import uuid

import pytest

import vcluster
from vcluster import lowlevel as ll


def test_options_init():
    o = ll.syncer_options_init()
    assert o.version == ll.SYNCER_OPTIONS_VERSION
    with pytest.raises(vcluster.VersionError):
        ll.syncer_options_init(0)


def test_needs_a_name(unreachable_kubeconfig):
    with vcluster.Kube.from_data(unreachable_kubeconfig) as k:
        with pytest.raises(vcluster.InvalidArgument):
            vcluster.Syncer(k, k, "")
        from vcluster._options import fill
        keep = []
        h = ll.syncer_new(k, k, fill(ll.syncer_options_init(), keep, name="raw"))
        vcluster.ffi.gc(h, None)  # detach the safety net, free explicitly
        ll.syncer_free(h)


def test_offline_syncer_calls(unreachable_kubeconfig):
    """Every call on a syncer whose clusters cannot be reached: errors come
    back as events, steps never block with timeout 0."""
    host = vcluster.Kube.from_data(unreachable_kubeconfig, retry=False, timeout_ms=1000)
    virt = vcluster.Kube.from_data(unreachable_kubeconfig, retry=False, timeout_ms=1000)
    s = vcluster.Syncer(host, virt, "offline", resync_seconds=-1)
    host.close()  # the syncer holds its own references
    virt.close()
    assert s.fileno() >= 0
    assert s.timeout_ms() >= -1
    sel = selectors.DefaultSelector()
    sel.register(s.fileno(), selectors.EVENT_READ)
    errors = []
    deadline = time.monotonic() + 20
    longest_wall = longest_cpu = 0.0
    while not errors and time.monotonic() < deadline:
        t = s.timeout_ms()
        sel.select(0.2 if t < 0 else min(t, 200) / 1000)
        t0, c0 = time.perf_counter(), time.thread_time()
        st = s.step(0)
        longest_wall = max(longest_wall, time.perf_counter() - t0)
        longest_cpu = max(longest_cpu, time.thread_time() - c0)
        assert isinstance(st, vcluster.StepState)
        errors += [e for e in s.events() if e.type == vcluster.SyncEventType.ERROR]
    # step(0) does at most 10 ms of work (CPU time: this machine is loaded,
    # wall time includes preemption) and never waits (wall time)
    # nor spun on it (a spin would cost seconds of CPU); not a speed bound:
    # under ASan a step's first setup took 15 ms once in CI
    assert longest_cpu < 0.100, longest_cpu
    assert longest_wall < 1.0, longest_wall
    assert errors, "no error event for an unreachable cluster"
    assert isinstance(errors[0].error, vcluster.Error) and errors[0].error.message
    assert "ERROR" in str(errors[0])
    st = s.stats()
    assert st["informers"] >= 1 and "errors" in st
    ctl = s.controller_stats()
    assert ctl and all(c["reconcile_success"] == 0 for c in ctl) and ctl[0]["reconcile_time"]["count"] == 0
    assert {"pods", "services"} <= {c["name"] for c in ctl}
    assert any(r["code"] == 0 and r["count"] > 0 for r in s.request_stats())  # no answer: port 1
    assert isinstance(s.stats_by_kind(), dict)
    s.wakeup()
    assert s.step(1000) in (vcluster.StepState.IDLE, vcluster.StepState.PROGRESS)  # woken at once
    s.stop()
    for _ in range(100):
        if s.step(100) == vcluster.StepState.STOPPED:
            break
    else:
        pytest.fail("the syncer did not stop")
    rc, ev = ll.syncer_next_event(s)
    while rc == ll.OK:
        vcluster.ffi.gc(ev, None)
        ll.sync_event_free(ev)
        rc, ev = ll.syncer_next_event(s)
    assert rc == ll.ITEROVER and ev is None
    s.close()
    sel.close()


# ---- against the real host cluster and a virtual control plane -----------

@pytest.fixture(scope="module")
def virtual_kubeconfig(kubeconfig):
    """A bare control plane (API server over kine, no nodes) as the virtual
    cluster, started with tests/cluster/hostcluster like the C syncer test."""
    src = os.environ.get("VC_SOURCE_ROOT") or os.path.join(os.path.dirname(__file__), "..", "..", "..")
    hc = os.environ.get("VC_HOSTCLUSTER", os.path.join(src, "tests", "cluster", "hostcluster"))
    if os.environ.get("VC_TEST_VIRTUAL_KUBECONFIG"):  # an already running one (development)
        yield os.environ["VC_TEST_VIRTUAL_KUBECONFIG"]
        return
    state = f"/tmp/vc-pyvirt-{uuid.uuid4().hex[:8]}"
    # The harness runs without the sanitizer runtime preloaded into this
    # interpreter (tests/bindings/sanitizer-env.sh): its helpers hang under it.
    env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "ASAN_OPTIONS", "UBSAN_OPTIONS")}
    # Output to a file, never a pipe: the daemons it starts would hold a pipe open.
    with open(state + ".log", "w") as log:
        up = subprocess.run([hc, "up", "--state", state, "--store", "kine", "--no-scheduler", "--no-kwok",
                             "--nodes", "0", "--service-cidr", "10.96.0.0/12"],
                            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, timeout=300, env=env)
    if up.returncode != 0:
        with open(state + ".log") as log:
            pytest.fail(f"could not start the virtual control plane:\n{log.read()[-2000:]}", pytrace=False)
    try:
        yield subprocess.check_output([hc, "kubeconfig", "--state", state], text=True, env=env).strip()
    finally:
        subprocess.run([hc, "down", "--state", state, "--purge"], stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120, env=env)
        os.unlink(state + ".log")


def test_syncer_with_asyncio(kube, virtual_kubeconfig):
    def create(k, path, obj):
        try:
            k.request("POST", path, obj)
        except vcluster.AlreadyExists:
            pass

    name = f"py{uuid.uuid4().hex[:6]}"
    hns = f"vcluster-{name}"
    kube.request("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": hns}})
    try:
        kube.request("POST", f"/api/v1/namespaces/{hns}/services",
                     {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
                      "spec": {"ports": [{"name": "https", "port": 443, "targetPort": 8443}]}})
        with vcluster.Kube(virtual_kubeconfig, qps=-1) as virt, \
                vcluster.Syncer(kube, virt, name, host_namespace=hns) as s:
            create(virt, "/api/v1/namespaces",
                   {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "demo"}})
            create(virt, "/api/v1/namespaces/demo/configmaps",
                   {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"a": "b"}})
            create(virt, "/api/v1/namespaces/demo/services",
                   {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
                    "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}})
            host_svc = f"/api/v1/namespaces/{hns}/services/web-x-demo-x-{name}"
            events = []
            last = [0.0]

            def synced() -> bool:
                now = time.monotonic()
                if now - last[0] < 0.5:
                    return False
                last[0] = now
                try:
                    kube.request("GET", host_svc)
                    return True
                except vcluster.NotFound:
                    return False

            async def main():
                return await asyncio.wait_for(s.run_async(events.append, until=synced), 90)

            asyncio.run(main())
            assert any(e.type == vcluster.SyncEventType.READY for e in events) or s.stats()["informers_synced"] > 0
            assert any(e.kind == "Service" and e.virtual_name == "web" for e in events), [str(e) for e in events]
            svc = kube.get(host_svc)
            assert svc["metadata"]["annotations"]["vcluster.loft.sh/object-name"] == "web"
            # per controller and per request (vc_syncer_controller_stats_get / _request_stats_get)
            ctl = {c["name"]: c for c in s.controller_stats()}
            assert ctl["services"]["kind"] == "Service" and ctl["services"]["reconcile_success"] >= 1
            rt = ctl["services"]["reconcile_time"]
            assert rt["count"] >= 1 and rt["buckets"][-1] == (float("inf"), rt["count"])
            assert all(a[1] <= b[1] for a, b in zip(rt["buckets"], rt["buckets"][1:]))
            reqs = s.request_stats()
            assert any(r["cluster"] == "host" and r["method"] == "POST" and r["code"] == 201 for r in reqs), reqs
            assert any(r["cluster"] == "virtual" and r["method"] == "GET" and r["code"] == 200 and r["count"] > 0
                       and r["latency"]["count"] == r["count"] for r in reqs), reqs
            s.stop()

            async def drain():
                async for ev in s.events_async():
                    events.append(ev)

            asyncio.run(asyncio.wait_for(drain(), 60))
    finally:
        kube.request("DELETE", f"/api/v1/namespaces/{hns}")


def test_offline_asyncio(unreachable_kubeconfig):
    """run_async: the fd in loop.add_reader, the timeout as a timer."""
    with vcluster.Kube.from_data(unreachable_kubeconfig, retry=False, timeout_ms=1000) as k, \
            vcluster.Syncer(k, k, "offline-aio", resync_seconds=-1) as s:
        seen = []

        async def main():
            return await asyncio.wait_for(
                s.run_async(seen.append, until=lambda: any(e.error for e in seen)), 30)

        state = asyncio.run(main())
        assert isinstance(state, vcluster.StepState)
        assert any(isinstance(e.error, vcluster.Error) for e in seen)
        s.stop()

        async def drain():
            return [ev async for ev in s.events_async()]

        asyncio.run(asyncio.wait_for(drain(), 30))  # ends when the syncer reports STOPPED


def test_exec_plugin_does_not_block_steps(tmp_path):
    """A kubeconfig whose exec credential plugin takes 3 s: no step(0) waits
    for it; the requests that need its token wait in the syncer's loop, and
    once it arrives they fail (nothing listens on port 1) as error events."""
    plugin = tmp_path / "slow-plugin.sh"
    plugin.write_text("#!/bin/sh\nsleep 3\n"
                      "echo '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\","
                      "\"status\":{\"token\":\"t0k\"}}'\n")
    plugin.chmod(0o755)
    kc = ("apiVersion: v1\nkind: Config\n"
          "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\n"
          "users: [{name: u, user: {exec: {apiVersion: client.authentication.k8s.io/v1, "
          f"command: '{plugin}'}}}}}}]\n"
          "contexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n")
    k = vcluster.Kube.from_data(kc, retry=False, timeout_ms=1000)
    s = vcluster.Syncer(k, k, "execplugin", resync_seconds=-1)
    k.close()
    sel = selectors.DefaultSelector()
    sel.register(s.fileno(), selectors.EVENT_READ)
    errors = []
    t_start = time.monotonic()
    deadline = t_start + 30
    longest_wall = longest_cpu = 0.0
    while not errors and time.monotonic() < deadline:
        t = s.timeout_ms()
        sel.select(0.2 if t < 0 else min(t, 200) / 1000)
        t0, c0 = time.perf_counter(), time.thread_time()
        s.step(0)
        longest_wall = max(longest_wall, time.perf_counter() - t0)
        longest_cpu = max(longest_cpu, time.thread_time() - c0)
        errors += [e for e in s.events() if e.type == vcluster.SyncEventType.ERROR]
    assert errors, "no error event once the plugin's token arrived"
    assert time.monotonic() - t_start >= 2.9  # the requests did wait for the plugin
    assert longest_wall < 1.0, longest_wall  # no step did
    # nor spun on it (a spin would cost seconds of CPU); not a speed bound:
    # under ASan a step's first setup took 15 ms once in CI
    assert longest_cpu < 0.100, longest_cpu
    s.close()
    sel.close()


def test_syncer_takes_a_config(unreachable_kubeconfig):
    """config= (vc_syncer_options.config): the parsed values reach the
    syncer (a toHost replication outside the host namespace is refused);
    config with config_yaml is refused."""
    bad = "networking:\n  replicateServices:\n    toHost:\n    - from: default/a\n      to: elsewhere/b\n"
    cfg = vcluster.Config()
    cfg.load_string(bad, "bad.yaml")
    with vcluster.Kube.from_data(unreachable_kubeconfig) as k:
        with pytest.raises(vcluster.ConfigError, match="elsewhere/b"):
            vcluster.Syncer(k, k, "cfg", config=cfg)
        with pytest.raises(vcluster.InvalidArgument, match="both"):
            vcluster.Syncer(k, k, "cfg", config=cfg, config_yaml=bad)
        good = vcluster.Config()
        good.load_string("sync:\n  fromHost:\n    events:\n      enabled: false\n")
        vcluster.Syncer(k, k, "cfg", config=good).close()


def test_leader_election_options(unreachable_kubeconfig):
    """leader_elect=: the options reach the library (bad timings are
    refused), and a syncer that cannot reach its Lease stays a standby that
    writes nothing."""
    with vcluster.Kube.from_data(unreachable_kubeconfig, retry=False, timeout_ms=1000) as k:
        with pytest.raises(vcluster.InvalidArgument, match="renew deadline"):
            vcluster.Syncer(k, k, "le", leader_elect=True, lease_duration_ms=1000, renew_deadline_ms=1000)
        s = vcluster.Syncer(k, k, "le", leader_elect=True, identity="py-1", lease_name="my-lease",
                            lease_duration_ms=4000, renew_deadline_ms=3000, retry_period_ms=500)
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            s.step(min(max(s.timeout_ms(), 0), 100))
            list(s.events())
        st = s.stats()
        assert st["leader_state"] == ll.LeaderState.STANDBY
        assert st["leader_acquired"] == 0
        assert st["host_writes"] == 0 and st["virtual_writes"] == 0
        assert ll.SyncEventType.LEADER_ACQUIRED == 10
        s.close()
