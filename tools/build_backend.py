"""setuptools' build backend, minus the build/ and egg-info folders it leaves in the source tree.

pip builds a local path in place (since 21.3), so `pip install /path/to/clone` left build/ and
runapi_mock.egg-info in the clone (pypa/setuptools#3236, open). The wheel and sdist hooks here remove what
they created; a folder that was there before is left alone. Every other hook is setuptools' own.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from setuptools import build_meta
from setuptools.build_meta import *  # the hooks not wrapped below, unchanged

_LITTER = ("build", "runapi_mock.egg-info")


@contextmanager
def _tidy() -> Iterator[None]:
    created = [Path(name) for name in _LITTER if not Path(name).exists()]  # hooks run in the source tree
    try:
        yield
    finally:
        for path in created:
            shutil.rmtree(path, ignore_errors=True)


def _tidied(hook: Callable[..., Any]) -> Callable[..., Any]:
    def run(*args: Any, **kwargs: Any) -> Any:
        with _tidy():
            return hook(*args, **kwargs)

    run.__name__ = run.__qualname__ = hook.__name__
    run.__doc__ = hook.__doc__
    return run


build_wheel = _tidied(build_meta.build_wheel)
build_sdist = _tidied(build_meta.build_sdist)
prepare_metadata_for_build_wheel = _tidied(build_meta.prepare_metadata_for_build_wheel)
get_requires_for_build_wheel = _tidied(build_meta.get_requires_for_build_wheel)
get_requires_for_build_sdist = _tidied(build_meta.get_requires_for_build_sdist)
