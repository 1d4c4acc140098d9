"""The soak's short seeded version (``make soak`` runs the long one): a few hundred orders of
every kind through the whole local runtime while the matcher process is SIGKILLed once, then
every invariant of ``bench.soak.checks`` against the real stores, and reconciliation agreeing.

The soak runs as ``python -m bench.soak`` in a child process with its own runtime: it kills the
matcher and checks invariants over *every* account, order and queue, so it needs a runtime no
other test touches (the session's ``local_runtime`` carries the other tests' deliberate faults,
e.g. a trade parked in the settlement DLQ), and a second runtime in this process would share
trading's process-wide caches with it. Its own xdist group lets it run beside the e2e group.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from localcloud.matcher import find_entrypoint

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("soak")]

REPO = Path(__file__).resolve().parents[2]
SOAK = ["--seed", "12", "--requests", "400", "--kills", "1", "--stops", "0", "--quiesce-timeout", "240"]


def test_a_short_seeded_soak_with_a_matcher_kill_passes_every_check(tmp_path: Path) -> None:
    if find_entrypoint() is None:
        pytest.skip("the matcher service (`matcher-service`) is not installed")
    # Given a fresh runtime in a child process / When the seeded workload runs with one kill
    done = subprocess.run(
        [sys.executable, "-m", "bench.soak", *SOAK, "--data-dir", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    # Then it printed exactly one line: the JSON summary
    lines = done.stdout.splitlines()
    assert len(lines) == 1, f"stdout: {done.stdout[-2000:]!r}\nstderr: {done.stderr[-4000:]}"
    summary = json.loads(lines[0])
    # And the workload and the fault happened as asked
    assert summary["seed"] == 12 and summary["requests"] >= 400
    assert summary["faults"]["SIGKILL"] == 1 and summary["faults"]["SIGSTOP"] == 0
    assert summary["orders"] >= 200 and summary["trades"] > 0
    # And every check held (each failing one is shown with its details)
    failed = {name: check for name, check in summary["checks"].items() if not check["ok"]}
    assert not failed, json.dumps(failed, indent=1)[:8000]
    assert summary["ok"] is True and done.returncode == 0
