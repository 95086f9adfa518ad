"""common.h / version.h: versions, errors, buffers, global init, logging."""
from __future__ import annotations

import logging

import pytest

import vcluster
from vcluster import ffi, lib, lowlevel as ll


def test_version_matches_headers():
    number, text = ll.version()
    assert number == ll.VERSION_NUMBER == vcluster.VERSION_NUMBER
    assert text == ll.VERSION_STRING == vcluster.version()
    assert number >= ll.GENERATED_VERSION
    assert (ll.VERSION_MAJOR << 16 | ll.VERSION_MINOR << 8 | ll.VERSION_PATCH) == number


def test_strerror_is_static_and_never_empty():
    for code in vcluster.Status:
        assert ll.strerror(code)
    assert vcluster.strerror(vcluster.Status.ENOTFOUND) == ll.strerror(ll.ENOTFOUND)
    assert ll.strerror(-9999)


def test_every_error_code_has_an_exception_class():
    for code in vcluster.Status:
        if code < 0:
            assert code in vcluster.ERRORS, f"{code.name} has no exception class in errors.py"
            assert issubclass(vcluster.ERRORS[code], vcluster.Error)


def test_error_last_and_clear():
    with pytest.raises(vcluster.NotFound):
        vcluster.Kube("/nonexistent/kubeconfig")
    e = ll.error_last()
    assert e.code == ll.ENOTFOUND
    assert b"/nonexistent/kubeconfig" in ffi.string(e.message)
    ll.error_clear()
    e = ll.error_last()
    assert e.code == ll.OK and ffi.string(e.message) == b""


def test_exception_fields():
    with pytest.raises(vcluster.Error) as ei:
        vcluster.Kube(kubeconfig_data="this: [is not a kubeconfig")
    err = ei.value
    assert isinstance(err, vcluster.ConfigError)
    assert err.code == vcluster.Status.ECONFIG
    assert err.http_status == 0 and err.reason == ""
    assert err.function == "vc_kube_new"
    assert err.message and err.message in str(err)
    assert "ECONFIG" in str(err) and "ConfigError" in repr(err)


def test_global_init_is_refcounted():
    assert ll.global_init(None) == 0
    left = ll.global_shutdown()
    assert left >= 1  # the package's own reference stays
    alloc = ffi.new("vc_allocator *")
    alloc.version = 99
    # An allocator is only honoured by the outermost call; nested calls still
    # validate nothing but count: balance whatever happens.
    try:
        ll.global_init(alloc)
    except vcluster.VersionError:
        pass
    else:
        ll.global_shutdown()


def test_buf_dispose_and_free_are_null_safe():
    buf = ffi.new("vc_buf *")
    ll.buf_dispose(buf)
    ll.buf_dispose(ffi.NULL)
    ll.free(ffi.NULL)
    assert buf.ptr == ffi.NULL and buf.size == 0


def test_every_function_has_a_wrapper():
    for name, fn in ll.FUNCTIONS.items():
        assert callable(fn), name
        assert hasattr(lib, name), name
    # ...and every wrapper is reached by the idiomatic layer or these tests.
    import pathlib
    pkg = pathlib.Path(vcluster.__file__).parent
    srcs = "".join(p.read_text() for p in pkg.glob("*.py") if p.name != "_lowlevel.py")
    srcs += "".join(p.read_text() for p in pathlib.Path(__file__).parent.glob("test_*.py"))
    import re
    missing = [n for n in ll.FUNCTIONS if not re.search(rf"\b(ll|lowlevel)\.{n[3:]}\b", srcs)]
    assert not missing, f"no wrapper or test calls: {missing}"


def test_enums_are_int_enums():
    assert vcluster.Status.OK == 0 and vcluster.Status.ITEROVER == 1
    assert vcluster.LogLevel.DEBUG == ll.LOG_DEBUG
    assert vcluster.ErrorClass.API == ll.ERRCLASS_API


def test_log_routes_to_logging(caplog, unreachable_kubeconfig):
    vcluster.log.set_level(logging.DEBUG)
    try:
        assert vcluster.log.level() == logging.DEBUG
        with caplog.at_level(logging.DEBUG, logger="vcluster"):
            k = vcluster.Kube(kubeconfig_data=unreachable_kubeconfig, max_retries=1, timeout_ms=2000)
            with pytest.raises(vcluster.ConnectError):
                k.server_version()
            k.close()
        recs = [r for r in caplog.records if r.name.startswith("vcluster.")]
        assert recs, "no library message reached logging"
        assert any(r.name == "vcluster.kube" and "retry" in r.getMessage() for r in recs)
    finally:
        vcluster.log.set_level()


def test_log_disable_and_raw_set():
    vcluster.log.disable()
    assert vcluster.log.level() is None
    ll.log_set(ll.LOG_ERROR, getattr(lib, ll.CALLBACKS["vc_log_fn"]))
    vcluster.log.set_level()
    assert vcluster.log.level() == logging.WARNING
