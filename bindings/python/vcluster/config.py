"""Config: a virtual cluster's vcluster.yaml (include/vcluster/config.h).

Starts from upstream vcluster's defaults; values files and --set style keys
merge over it, each checked (errors name FILE:LINE:COL and the key).
"""
from __future__ import annotations

import os
from typing import Optional, Union

from . import _lowlevel as ll
from ._handle import Handle


class Config(Handle):
    """    cfg = Config(); cfg.load_file("vcluster.yaml"); cfg.set("sync.toHost.ingresses.enabled", "true")"""

    def __init__(self, *files: Union[str, os.PathLike]) -> None:
        self._adopt(ll.config_new())
        for f in files:
            self.load_file(f)

    def load_file(self, path: Union[str, os.PathLike]) -> None:
        ll.config_load_file(self._h(), os.fspath(path))

    def load_string(self, text: str, name: Optional[str] = None) -> None:
        ll.config_load_string(self._h(), text, name)

    def set(self, key: str, value: str) -> None:
        """Like `helm --set key=value` (value read as YAML)."""
        ll.config_set(self._h(), key, value)

    def get(self, key: str) -> str:
        """The effective value: scalars as text, mappings and lists as YAML."""
        return ll.config_get(self._h(), key)

    def to_yaml(self) -> str:
        """The whole effective configuration."""
        return ll.config_to_yaml(self._h())

    @property
    def distro(self) -> str:
        return ll.config_distro(self._h())

    @property
    def backing_store(self) -> ll.BackingStore:
        return ll.BackingStore(ll.config_backing_store(self._h()))

    @property
    def ha_replicas(self) -> int:
        return ll.config_ha_replicas(self._h())

    @property
    def service_type(self) -> str:
        return ll.config_service_type(self._h())
