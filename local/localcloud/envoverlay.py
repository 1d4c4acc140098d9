"""Per-thread environment variables, so in-process Lambda handlers run concurrently with their own env.

In AWS every function runs in its own sandbox with its own environment. Here all handlers share one
process, and ``os.environ`` is process-global. Rather than serialising every invocation under a
lock (which deadlocks as soon as one handler waits for another, e.g. through Step Functions), the
runtime gives ``os.environ`` a thread-local overlay: inside :func:`function_env` the calling
thread sees the function's variables on top of the process environment, other threads do not.

Everything that reads the environment through ``os.environ``/``os.getenv`` (boto3, Powertools,
pydantic-settings) sees the overlay. Threads a handler starts itself do not inherit it; child
processes get the process environment (handlers do not spawn processes).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

_local = threading.local()
_install_lock = threading.Lock()


def _overlay() -> dict[str, str] | None:
    value: dict[str, str] | None = getattr(_local, "overlay", None)
    return value


class _OverlayEnviron(type(os.environ)):  # type: ignore[misc]
    """``os._Environ`` whose reads first consult the calling thread's overlay."""

    def __getitem__(self, key: str) -> str:
        overlay = _overlay()
        if overlay is not None and key in overlay:
            return overlay[key]
        value: str = super().__getitem__(key)
        return value

    def __setitem__(self, key: str, value: str) -> None:
        overlay = _overlay()
        if overlay is not None:
            overlay[key] = value
            return
        super().__setitem__(key, value)

    def __delitem__(self, key: str) -> None:
        overlay = _overlay()
        if overlay is not None and key in overlay:
            del overlay[key]
            return
        super().__delitem__(key)

    def __iter__(self) -> Iterator[str]:
        overlay = _overlay()
        base = list(super().__iter__())
        if overlay is None:
            yield from base
            return
        seen = set(base)
        yield from base
        yield from (key for key in list(overlay) if key not in seen)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __contains__(self, key: object) -> bool:
        overlay = _overlay()
        if overlay is not None and key in overlay:
            return True
        return bool(super().__contains__(key))

    def copy(self) -> dict[str, str]:
        return dict(self)


def install() -> None:
    """Make ``os.environ`` overlay-aware (idempotent; the object identity does not change)."""
    with _install_lock:
        if not isinstance(os.environ, _OverlayEnviron):
            env: Any = os.environ
            env.__class__ = _OverlayEnviron


@contextmanager
def function_env(variables: Mapping[str, str]) -> Iterator[None]:
    """Run the body with ``variables`` visible in this thread's ``os.environ``."""
    install()
    previous = _overlay()
    _local.overlay = {**(previous or {}), **variables}
    try:
        yield
    finally:
        _local.overlay = previous
