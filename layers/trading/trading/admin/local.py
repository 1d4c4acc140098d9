"""Find a running local runtime (``make run``) for ``python -m trading.admin`` (docs/local.md).

The runtime writes ``<data dir>/runtime.json`` (``localcloud.descriptor``): AWS endpoint, the admin
function's environment (table names, usage plan), the PostgreSQL DSN. With no configuration in
the environment the CLI reads the first descriptor it finds, in this order:

1. ``--local DIR`` / ``TRADING_LOCAL_DATA_DIR``;
2. ``./.local-data`` (``make run`` from the current directory);
3. ``.local-data`` at the root of the checkout this package is installed from.

A descriptor whose process is gone is refused (the runtime was killed); a clean stop removes it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

DESCRIPTOR_FILE = "runtime.json"
DATA_DIR_ENV = "TRADING_LOCAL_DATA_DIR"
DEFAULT_DATA_DIR = ".local-data"
# Set in the environment, these mean "configured": then no descriptor is looked for
CONFIGURED_BY = ("DB_SECRET_ARN", "DB_WRITER_HOST", "API_KEYS_TABLE", "INSTRUMENTS_TABLE")


class LocalRuntimeError(Exception):
    """No usable local runtime: ``code`` is the CLI's one-line error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def configured() -> bool:
    return any(os.environ.get(name) for name in CONFIGURED_BY)


def candidates(explicit: str | None) -> list[Path]:
    if explicit:
        return [Path(explicit)]
    if os.environ.get(DATA_DIR_ENV):
        return [Path(os.environ[DATA_DIR_ENV])]
    checkout = Path(__file__).resolve().parents[4]  # layers/trading/trading/admin/local.py
    found = [Path.cwd() / DEFAULT_DATA_DIR, checkout / DEFAULT_DATA_DIR]
    return list(dict.fromkeys(p.resolve() for p in found))


def _alive(pid: Any) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: it exists
    return True


def find(explicit: str | None = None) -> dict[str, Any]:
    """The descriptor of a running runtime, or :class:`LocalRuntimeError`."""
    looked = candidates(explicit)
    for data_dir in looked:
        path = data_dir / DESCRIPTOR_FILE
        if not path.is_file():
            continue
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise LocalRuntimeError("LOCAL_RUNTIME_UNREADABLE", f"{path}: {exc}") from exc
        if not isinstance(document, dict) or not _alive(document.get("pid")):
            raise LocalRuntimeError(
                "LOCAL_RUNTIME_NOT_RUNNING",
                f"{path} was written by a runtime that is no longer running: start `make run`",
            )
        return document
    raise LocalRuntimeError(
        "LOCAL_RUNTIME_NOT_FOUND",
        "no running local runtime (looked in "
        + ", ".join(str(p) for p in looked)
        + "): start `make run`, pass --local DIR, or set DB_*/table variables for a deployed stack",
    )


def apply(document: dict[str, Any]) -> str | None:
    """Point this process at the runtime (environment defaults only); return its DSN."""
    env = {str(k): str(v) for k, v in (document.get("admin_env") or {}).items()}
    env.setdefault("AWS_ENDPOINT_URL", str(document.get("aws_endpoint_url", "")))
    env.setdefault("AWS_DEFAULT_REGION", str(document.get("region", "us-east-1")))
    env.setdefault("AWS_ACCESS_KEY_ID", "testing")  # moto accepts any credentials
    env.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    for name, value in env.items():
        if value:
            os.environ.setdefault(name, value)
    dsn = document.get("dsn")
    return str(dsn) if dsn else None
