"""Shared result handling: machine-readable JSON on stdout and in ``bench/results/``."""

import datetime
import os
import platform
import sys
from pathlib import Path
from typing import Any

import orjson

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def environment() -> dict[str, Any]:
    return {
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        # which build of the interpreter (a PGO/LTO build runs the engine ~12% faster; see Makefile)
        "interpreter": os.path.realpath(sys.executable),
        "machine": platform.machine(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
    }


def write_result(name: str, result: dict[str, Any]) -> Path:
    """Write ``result`` to ``bench/results/<name>-<UTC timestamp>.json`` and return the path."""
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}-{stamp}.json"
    path.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
    return path
