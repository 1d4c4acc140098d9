"""The matcher supervisor: restarts a dead service, stops it on shutdown, leaves nothing behind."""

from __future__ import annotations

import sys
import time

from localcloud.matcher import MatcherSupervisor


def _wait(condition, timeout_s=20.0):
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met"
        time.sleep(0.05)


def test_a_service_that_dies_is_restarted(tmp_path):
    # Given a "service" that exits at once
    supervisor = MatcherSupervisor(
        {}, tmp_path / "m.log", command=[sys.executable, "-c", "raise SystemExit(3)"]
    )
    # When it is supervised
    assert supervisor.start()
    try:
        # Then it is started again after it died
        _wait(lambda: supervisor.restarts >= 1)
    finally:
        supervisor.stop()


def test_stop_terminates_the_service_and_passes_its_environment(tmp_path):
    # Given a long-running service that reports an environment variable from the task definition
    script = "import os, time; print(os.environ['ORDERS_QUEUE_URL'], flush=True); time.sleep(600)"
    supervisor = MatcherSupervisor(
        {"ORDERS_QUEUE_URL": "https://queue"}, tmp_path / "m.log", command=[sys.executable, "-c", script]
    )
    assert supervisor.start()
    _wait(lambda: supervisor.process is not None and "https://queue" in (tmp_path / "m.log").read_text())
    process = supervisor.process
    # When the runtime stops it
    supervisor.stop()
    # Then the process is gone and was not restarted
    assert process.poll() is not None
    assert supervisor.restarts == 0
