"""The cffi extension needs setup.py's cffi_modules hook; everything else is
in pyproject.toml. The extension is compiled against the libvcluster that
pkg-config finds (PKG_CONFIG_PATH=<builddir>/meson-uninstalled for a build
tree): see vcluster/_build.py and doc/bindings.md.

Wheels bundle that library (auditwheel's layout): build_py copies it into
vcluster/_libs/ under its soname, the extension's only rpath is
$ORIGIN/_libs, and vcluster/__init__.py loads the bundled copy before the
extension, so the wheel runs with no LD_LIBRARY_PATH and never picks up
another libvcluster first. VCLUSTER_BUNDLE=0 links against the installed
library instead (a distribution's package)."""
import os
import shutil
import sys

from setuptools import setup
from setuptools.command.build_py import build_py

os.environ.setdefault("VCLUSTER_BUNDLE", "1")
BUNDLE = os.environ["VCLUSTER_BUNDLE"] == "1"


class build_py_bundle(build_py):
    def run(self):
        super().run()
        if not BUNDLE:
            return
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "vcluster"))
        try:
            from _build import bundled_library
        finally:
            sys.path.pop(0)
        src, soname = bundled_library()
        dst = os.path.join(self.build_lib, "vcluster", "_libs")
        os.makedirs(dst, exist_ok=True)
        shutil.copyfile(src, os.path.join(dst, soname))
        os.chmod(os.path.join(dst, soname), 0o755)


setup(cffi_modules=["vcluster/_build.py:ffibuilder"], cmdclass={"build_py": build_py_bundle})
