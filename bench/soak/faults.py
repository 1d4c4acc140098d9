"""Faults on the real matcher process the runtime supervises (``localcloud.matcher``):
SIGKILL (the supervisor restarts it, recovery rebuilds the books) and SIGSTOP ... SIGCONT
(a frozen process holding its in-flight batch). Faults fire at fixed fractions of the request
budget, so a seed always puts them at the same point of the workload."""

from __future__ import annotations

import os
import signal
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any

import httpx
from localcloud.runtime import LocalRuntime

from bench.soak.workload import Recorder

RECOVERY_TIMEOUT_S = 120.0


@dataclass
class Fault:
    kind: str  # "SIGKILL" | "SIGSTOP"
    at_request: int
    pid: int = 0
    injected_at_request: int = 0
    new_pid: int = 0
    recovered_s: float = -1.0  # until /health answered 200 again; -1 = never


def plan(kills: int, stops: int, budget: int) -> list[Fault]:
    """Kills and stops interleaved (kill first), evenly spread over the budget."""
    kinds: list[str] = []
    remaining = {"SIGKILL": kills, "SIGSTOP": stops}
    while any(remaining.values()):
        for kind in ("SIGKILL", "SIGSTOP"):
            if remaining[kind]:
                kinds.append(kind)
                remaining[kind] -= 1
    count = len(kinds)
    return [Fault(kind, budget * (i + 1) // (count + 1)) for i, kind in enumerate(kinds)]


class FaultInjector:
    def __init__(self, runtime: LocalRuntime, recorder: Recorder, faults: list[Fault], stop_s: float) -> None:
        if runtime.matcher is None or runtime.matcher_health_url is None:
            raise RuntimeError("the runtime runs no matcher (`matcher-service` not installed?)")
        self.runtime = runtime
        self.supervisor = runtime.matcher
        self.health_url = runtime.matcher_health_url
        self.recorder = recorder
        self.faults = faults
        self.stop_s = stop_s
        self.error: BaseException | None = None
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="soak-faults", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def finish(self) -> None:
        """Inject what is still due (the workload ended early), wait for the matcher to be back."""
        self._done.set()
        self._thread.join()
        if self.error is not None:
            raise self.error

    def summary(self) -> dict[str, Any]:
        return {
            "SIGKILL": sum(1 for f in self.faults if f.kind == "SIGKILL" and f.pid),
            "SIGSTOP": sum(1 for f in self.faults if f.kind == "SIGSTOP" and f.pid),
            "matcher_restarts": self.supervisor.restarts,
            "events": [asdict(f) for f in self.faults],
        }

    def _run(self) -> None:
        try:
            for fault in self.faults:
                while self.recorder.progress() < fault.at_request and not self._done.is_set():
                    time.sleep(0.05)
                self._inject(fault)
        except BaseException as exc:  # surfaced by finish()
            self.error = exc

    def _live_process(self) -> Any:
        deadline = time.monotonic() + RECOVERY_TIMEOUT_S
        while True:
            process = self.supervisor.process
            if process is not None and process.poll() is None:
                return process
            if time.monotonic() > deadline:
                raise RuntimeError("the matcher process is not running")
            time.sleep(0.05)

    def _inject(self, fault: Fault) -> None:
        process = self._live_process()
        fault.pid, fault.injected_at_request = process.pid, self.recorder.progress()
        started = time.monotonic()
        if fault.kind == "SIGKILL":
            os.kill(process.pid, signal.SIGKILL)
            process.wait(10)
        else:
            os.kill(process.pid, signal.SIGSTOP)
            try:
                time.sleep(self.stop_s)
            finally:
                os.kill(process.pid, signal.SIGCONT)
        fault.new_pid = self._live_process().pid
        fault.recovered_s = self._wait_healthy(started)

    def _wait_healthy(self, started: float) -> float:
        deadline = started + RECOVERY_TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.health_url, timeout=2.0).status_code == 200:
                    return round(time.monotonic() - started, 2)
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        return -1.0
