"""The usage-plan limits are template parameters, so `make run` takes them too (docs/api.md,
"Rate limits"): a burst the default plan refuses with 429 passes with raised limits."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from trading.client import TradingClient

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.xdist_group("localcloud-cli")


def _run(workdir: Path, *parameters: str) -> Iterator[dict[str, Any]]:
    data_dir = workdir / "data"
    log = (workdir / "runtime.log").open("w")
    args = [a for p in parameters for a in ("--parameter", p)]
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "localcloud",
            "run",
            "--data-dir",
            str(data_dir),
            "--rest-port",
            "0",
            "--ws-port",
            "0",
            "--no-matcher",
            *args,
        ],
        cwd=REPO,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    descriptor = data_dir / "runtime.json"
    try:
        deadline = time.monotonic() + 120
        while not descriptor.exists():
            assert process.poll() is None, (workdir / "runtime.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "no descriptor"
            time.sleep(0.5)
        yield json.loads(descriptor.read_text())
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(60)
        log.close()


@pytest.fixture
def raised(tmp_path: Path) -> Iterator[dict[str, Any]]:
    yield from _run(tmp_path, "StandardTierRateLimit=1000", "StandardTierBurstLimit=1000")


def _burst(document: dict[str, Any], count: int) -> list[int]:
    key = document["demo_keys"][0]
    with TradingClient(document["urls"]["rest"], key["key_id"], key["secret"]) as client:
        return [client.balances().status_code for _ in range(count)]


def test_raised_limits_let_a_burst_through(raised: dict[str, Any]) -> None:
    # Given `make run --parameter StandardTierRateLimit=1000 --parameter StandardTierBurstLimit=1000`
    # When a demo key sends 60 signed requests back to back (the default plan allows 20 + 10/s)
    statuses = _burst(raised, 60)
    # Then none is throttled
    assert statuses == [200] * 60
