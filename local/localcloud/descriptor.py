"""The running runtime's descriptor: ``<data dir>/runtime.json`` (docs/local.md, "Admin CLI").

A started runtime writes where everything is: its URLs and AWS endpoint, the stack's tables and
queues by logical id, the admin function's environment, the PostgreSQL DSN and the seeded demo
keys, so that ``python -m trading.admin`` (and ``scripts/ccxt_demo.py``) find a running
``make run`` with no environment at all. The file is private to the user (mode 0600: it holds the
database password and the demo secrets) and removed on a clean stop; ``pid`` tells a reader whether
the runtime that wrote it is still alive.

Table names are pinned to ``<stack>-<LogicalId>`` in the rehearsal template (moto would otherwise
draw a random suffix on every start), so they stay the same across restarts.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

DESCRIPTOR_FILE = "runtime.json"
SAM_ENV_FILE = "sam-env.json"
VERSION = 1
# The address a `sam local` Lambda container uses for this runtime's servers. They listen on
# 127.0.0.1, which a container reaches with `--docker-network host` (Linux); override it for
# another setup (e.g. a server bound to the bridge and `--add-host`).
CONTAINER_HOST_ENV = "LOCALCLOUD_CONTAINER_HOST"


def pin_table_names(rehearsal: dict[str, Any], stack_name: str) -> None:
    """Give every DynamoDB table without a ``TableName`` the stable name ``<stack>-<LogicalId>``."""
    for logical_id, resource in (rehearsal.get("Resources") or {}).items():
        if isinstance(resource, dict) and resource.get("Type") == "AWS::DynamoDB::Table":
            properties = resource.setdefault("Properties", {})
            properties.setdefault("TableName", f"{stack_name}-{logical_id}")


def write(
    data_dir: Path,
    *,
    urls: Mapping[str, str],
    region: str,
    stack_name: str,
    dsn: str | None,
    tables: Mapping[str, str],
    queues: Mapping[str, str],
    admin_env: Mapping[str, str],
    demo_keys: list[dict[str, str]],
) -> Path:
    document = {
        "version": VERSION,
        "pid": os.getpid(),
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "stack_name": stack_name,
        "region": region,
        "urls": dict(urls),
        "aws_endpoint_url": urls["endpoint"],
        "dsn": dsn,
        "tables": dict(tables),
        "queues": dict(queues),
        "admin_env": dict(admin_env),
        "demo_keys": demo_keys,
    }
    path = data_dir / DESCRIPTOR_FILE
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(document, fh, indent=2)
    tmp.replace(path)
    return path


def remove(data_dir: Path) -> None:
    """Forget the descriptor, only if this process wrote it (a second runtime may own it now)."""
    path = data_dir / DESCRIPTOR_FILE
    try:
        if json.loads(path.read_text(encoding="utf-8")).get("pid") == os.getpid():
            path.unlink()
    except (OSError, ValueError):
        pass


def write_sam_env(data_dir: Path, function_envs: Mapping[str, Mapping[str, str]]) -> Path:
    """``<data dir>/sam-env.json`` for ``sam local start-api --env-vars``: every function's
    environment (by logical id, SAM's format) as this runtime runs it, with its loopback addresses
    (AWS endpoint, PostgreSQL, the WebSocket management endpoint) turned into the container host."""
    host = os.environ.get(CONTAINER_HOST_ENV, "127.0.0.1")

    def reach(value: str) -> str:
        return value.replace("127.0.0.1", host).replace("//localhost", f"//{host}")

    document = {
        logical_id: {name: reach(str(value)) for name, value in env.items()}
        for logical_id, env in sorted(function_envs.items())
    }
    path = data_dir / SAM_ENV_FILE
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(document, fh, indent=2)
    tmp.replace(path)
    return path
