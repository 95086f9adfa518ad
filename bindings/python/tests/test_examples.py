"""The examples run (offline parts; the cluster cells are exercised by the
other tests)."""
from __future__ import annotations

import os
import pathlib
import subprocess
import sys

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"


def test_notebook_offline():
    env = dict(os.environ)
    r = subprocess.run([sys.executable, str(EXAMPLES / "notebook.py"), "--offline"], capture_output=True,
                       text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "web-x-shop-x-demo" in r.stdout
    assert "NotFound ENOTFOUND" in r.stdout
    assert "skipping the cluster cells" in r.stdout
