"""The matcher service as a supervised subprocess: the container's entrypoint, the task's env.

The ECS task definition's ``Environment`` is resolved against the stack (see
:func:`localcloud.resolve.resolve`); AWS_ENDPOINT_URL, credentials and region point it at moto.
The child dies with the runtime even on SIGKILL (``PR_SET_PDEATHSIG``); on shutdown it gets
SIGTERM (finish the batch, stop) and SIGKILL after a grace period. If it exits on its own it is
restarted with a capped back-off.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping
from pathlib import Path

_log = logging.getLogger(__name__)

ENTRYPOINT = "matcher-service"
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def find_entrypoint() -> str | None:
    beside_python = Path(sys.executable).parent / ENTRYPOINT
    if beside_python.exists():
        return str(beside_python)
    return shutil.which(ENTRYPOINT)


class MatcherSupervisor:
    def __init__(
        self,
        env: Mapping[str, str],
        log_file: Path,
        grace_s: float = 10.0,
        command: list[str] | None = None,
    ) -> None:
        self.env = dict(env)
        self.command = command  # default: the installed entrypoint
        self.log_file = log_file
        self.grace_s = grace_s
        self.process: subprocess.Popen[bytes] | None = None
        self.restarts = 0
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> bool:
        """Start supervising; False (and one log line) when the entrypoint is not installed."""
        entrypoint = find_entrypoint()
        command = self.command or ([entrypoint] if entrypoint else None)
        if command is None:
            _log.warning("matcher: `%s` is not installed; running without the matching engine", ENTRYPOINT)
            return False
        self._thread = threading.Thread(target=self._supervise, args=(command,), name="matcher", daemon=True)
        self._thread.start()
        return True

    def _spawn(self, command: list[str]) -> subprocess.Popen[bytes]:
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as log:
            return subprocess.Popen(  # noqa: S603 - our own console script
                command,
                env={**os.environ, **self.env},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches the runtime, which stops the matcher in order
                preexec_fn=_die_with_parent,  # noqa: PLW1509 - only prctl, safe before exec
            )

    def _supervise(self, command: list[str]) -> None:
        backoff = 1.0
        while not self._stopping.is_set():
            with self._lock:
                if self._stopping.is_set():
                    return
                self.process = self._spawn(command)
            _log.info("matcher: started pid %d (log %s)", self.process.pid, self.log_file)
            code = self.process.wait()
            if self._stopping.is_set():
                return
            self.restarts += 1
            _log.warning("matcher: exited with %s; restarting in %.0f s", code, backoff)
            if self._stopping.wait(backoff):
                return
            backoff = min(backoff * 2, 10.0)

    def stop(self) -> None:
        self._stopping.set()
        with self._lock:
            process = self.process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(self.grace_s)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        if self._thread is not None:
            self._thread.join(5)
