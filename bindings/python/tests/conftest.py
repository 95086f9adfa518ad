"""Shared fixtures. Integration tests use the real host cluster that
tests/run starts (VC_TEST_KUBECONFIG); without it they FAIL, unless
VC_SKIP_CLUSTER=1 asks to skip them explicitly."""
from __future__ import annotations

import os
import subprocess
import time
import uuid

import pytest


@pytest.fixture(scope="session")
def kubeconfig() -> str:
    kc = os.environ.get("VC_TEST_KUBECONFIG", "")
    if kc and os.access(kc, os.R_OK):
        return kc
    if os.environ.get("VC_SKIP_CLUSTER") == "1":
        pytest.skip("VC_SKIP_CLUSTER=1: no host cluster")
    pytest.fail("no host cluster: VC_TEST_KUBECONFIG is " + ("unreadable" if kc else "unset") +
                ". Run the suite through tests/run (it starts tests/cluster/hostcluster), "
                "or set VC_SKIP_CLUSTER=1 to skip integration tests.", pytrace=False)


@pytest.fixture()
def kube(kubeconfig):
    import vcluster
    with vcluster.Kube(kubeconfig, timeout_ms=20000) as k:
        yield k


@pytest.fixture()
def namespace(kube):
    """A fresh namespace, deleted afterwards."""
    name = f"py-{int(time.time()) % 100000}-{uuid.uuid4().hex[:6]}"
    kube.request("POST", "/api/v1/namespaces",
                 {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    yield name
    try:
        kube.request("DELETE", f"/api/v1/namespaces/{name}")
    except Exception:
        pass


BAD_KUBECONFIG = """apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]
users: [{name: u, user: {token: abc}}]
contexts:
- {name: x, context: {cluster: c, user: u, namespace: ns1}}
- {name: other, context: {cluster: c, user: u}}
current-context: x
"""


@pytest.fixture()
def unreachable_kubeconfig() -> str:
    """A kubeconfig whose server refuses connections (port 1 on loopback)."""
    return BAD_KUBECONFIG


@pytest.fixture(scope="module")
def local_driver(kubeconfig, tmp_path_factory):
    """Where the local driver finds its binaries: VC_K8S_BINDIR (tests/run
    exports it) and the syncer built in this build dir."""
    src = os.environ.get("VC_SOURCE_ROOT") or os.path.join(os.path.dirname(__file__), "..", "..", "..")
    bindir = os.environ.get("VC_K8S_BINDIR") or subprocess.check_output(
        [os.path.join(src, "tests", "cluster", "hostcluster"), "bindir"], text=True).strip()
    syncer = os.path.join(os.environ.get("VC_BUILD_ROOT", ""), "examples", "controller", "vcluster-syncer")
    if not os.access(syncer, os.X_OK):
        pytest.fail(f"the syncer executable is missing: {syncer}", pytrace=False)
    return dict(bin_dir=bindir, syncer_path=syncer, state_dir=str(tmp_path_factory.mktemp("vcstate")))
