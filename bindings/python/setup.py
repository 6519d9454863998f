"""Builds libferry with CMake and ships it inside the package.

Where libferry.so comes from, in order:
  FERRY_LIBRARY=/path/libferry.so.0   that file is copied into the package;
  otherwise, from a checkout of the repository, CMake builds the ferry_c target
  with the preset FERRY_CMAKE_PRESET (default native-release) into
  build/<preset>, with FERRY_JOBS parallel jobs (default 2).
The package metadata is in pyproject.toml; only this build step lives here.
"""

import os
import shutil
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

PACKAGE_DIRECTORY = Path(__file__).resolve().parent
REPOSITORY = PACKAGE_DIRECTORY.parent.parent


def build_libferry() -> Path:
    """Builds the ferry_c target with CMake and returns libferry's path."""
    if not (REPOSITORY / "CMakePresets.json").exists():
        raise SystemExit(
            "libferry: not in a Ferry checkout; set FERRY_LIBRARY to a built libferry.so.0"
        )
    preset = os.environ.get("FERRY_CMAKE_PRESET", "native-release")
    jobs = os.environ.get("FERRY_JOBS", "2")
    subprocess.run(["cmake", "--preset", preset], cwd=REPOSITORY, check=True, stdout=subprocess.DEVNULL)
    subprocess.run(
        ["cmake", "--build", "--preset", preset, "--target", "ferry_c", "-j", jobs],
        cwd=REPOSITORY,
        check=True,
    )
    return REPOSITORY / "build" / preset / "bindings" / "c" / "libferry.so.0"


class BuildWithLibferry(build_py):
    """build_py that also puts libferry.so next to the Python modules."""

    def run(self):
        super().run()
        source = os.environ.get("FERRY_LIBRARY") or build_libferry()
        target = Path(self.build_lib) / "ferry" / "libferry.so"
        target.parent.mkdir(parents=True, exist_ok=True)
        # resolve(): copy the library itself, not the SONAME symlink.
        shutil.copyfile(Path(source).resolve(), target)


class NativeDistribution(Distribution):
    """The wheel holds a native library: tag it for this platform, not as pure Python."""

    def has_ext_modules(self):
        return True


setup(cmdclass={"build_py": BuildWithLibferry}, distclass=NativeDistribution)
