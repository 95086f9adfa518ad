"""The cffi extension needs setup.py's cffi_modules hook; everything else is
in pyproject.toml. The extension is compiled against the libvcluster that
pkg-config finds (PKG_CONFIG_PATH=<builddir>/meson-uninstalled for a build
tree): see vcluster/_build.py and doc/bindings.md."""
from setuptools import setup

setup(cffi_modules=["vcluster/_build.py:ffibuilder"])
