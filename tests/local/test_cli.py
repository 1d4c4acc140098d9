"""`make run` = `python -m localcloud run`: ready banner, the real template served, Ctrl-C cleans up."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.xdist_group("localcloud-cli")


def _children(pid: int) -> set[int]:
    """Every live descendant of ``pid`` (from /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _processes_mentioning(text: str) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if text in cmdline:
                found.add(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_run_reaches_ready_serves_a_read_route_and_ctrl_c_leaves_no_process(tmp_path):
    # Given `python -m localcloud run` (what `make run` starts) on free ports and a fresh data dir
    data_dir = tmp_path / "data"
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
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=(tmp_path / "stderr.log").open("w"),
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        # When it starts
        banner = []
        deadline = time.monotonic() + 90
        for line in process.stdout:
            banner.append(line)
            if line.startswith("Ctrl-C"):
                break
            assert time.monotonic() < deadline, "no ready banner"
        text = "".join(banner)
        # Then it printed ready with the REST, WebSocket and UI URLs (handlers log JSON lines too)
        assert any(line.startswith("ready in ") for line in banner), text
        rest_url = next(line.split()[2] for line in banner if line.strip().startswith("REST API"))
        assert "WebSocket  ws://127.0.0.1:" in text
        assert "Web UI     http://127.0.0.1:" in text
        # And a read route answers through the real handler
        response = httpx.get(f"{rest_url}/v1/instruments", timeout=30)
        assert response.status_code == 200
        assert {i["symbol"] for i in response.json()["instruments"]} >= {"BTC-USD"}
        children = _children(process.pid)
        postgres = _processes_mentioning(str(data_dir / "pg"))
        assert postgres, "PostgreSQL was not running from the data dir"
    finally:
        # When Ctrl-C arrives
        process.send_signal(signal.SIGINT)
        code = process.wait(60)
    # Then it exits cleanly and no process it started is left
    assert code == 0
    leftovers = {pid for pid in children | postgres if _alive(pid)}
    assert not leftovers, leftovers
