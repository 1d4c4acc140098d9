"""Fault drills against a running local runtime (``python -m localcloud fault ...``, docs/local.md).

* the matcher: ``kill`` (SIGKILL; the runtime's supervisor restarts it and recovery rebuilds the
  books) or ``pause`` (SIGSTOP for N seconds, then SIGCONT: a task frozen mid-batch);
* PostgreSQL: ``restart`` (stop with ``-m fast`` or ``-m immediate`` = crash, optionally stay down
  N seconds, start again: what a writer failover looks like to the clients) or ``pause`` (SIGSTOP
  of the postmaster and every backend for N seconds: a database that stops answering);
* DynamoDB / SQS throttling for N seconds: every request to that service (or to the listed
  operations; a fraction of them with ``--rate``) is answered with the service's throttling
  error (``ProvisionedThroughputExceededException`` / ``RequestThrottled``, HTTP 400) in its JSON
  protocol, so botocore retries it as it would a real throttle.

Throttles are declared in ``<data dir>/faults.json`` (service -> its end on the system-wide
monotonic clock, ``CLOCK_MONOTONIC``, which a wall-clock step cannot move; and as wall time, shown),
which the runtime's moto server reads on each request once :func:`install` has been called in the
runtime's process (``python -m localcloud run`` does; tests and benches that start a
``LocalRuntime`` themselves call it). Processes are found from the data dir: the matcher is the
``matcher-service`` child of the runtime whose pid ``runtime.json`` names, PostgreSQL the pid in
``pg/postmaster.pid``.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from localcloud.postgres import EmbeddedPostgres

FAULTS_FILE = "faults.json"
SERVICES = ("dynamodb", "sqs")
MAX_THROTTLE_SECONDS = 3600.0  # a forgotten drill ends on its own
_THROTTLE = {
    "dynamodb": ("com.amazonaws.dynamodb.v20120810", "ProvisionedThroughputExceededException"),
    "sqs": ("com.amazonaws.sqs", "RequestThrottled"),
}
_TARGET_PREFIX = {"DynamoDB_20120810": "dynamodb", "AmazonSQS": "sqs"}


# -- throttling (declared in the data dir, applied by the runtime's moto server) ----------------


def _faults_path(data_dir: Path) -> Path:
    return data_dir / FAULTS_FILE


def _read(data_dir: Path) -> dict[str, Any]:
    try:
        document = json.loads(_faults_path(data_dir).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return document if isinstance(document, dict) else {}


def _write(data_dir: Path, document: dict[str, Any]) -> None:
    path = _faults_path(data_dir)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(document), encoding="utf-8")
    tmp.replace(path)


def throttle(
    data_dir: Path,
    service: str,
    seconds: float,
    operations: Iterable[str] = (),
    rate: float = 1.0,
) -> float:
    """Throttle ``service`` for ``seconds`` from now; returns the wall-clock end (epoch seconds)."""
    if service not in SERVICES:
        raise ValueError(f"service must be one of {', '.join(SERVICES)}")
    if not 0 < seconds <= MAX_THROTTLE_SECONDS:
        raise ValueError(f"seconds must be in (0, {MAX_THROTTLE_SECONDS:.0f}]")
    if not 0 < rate <= 1:
        raise ValueError("rate must be in (0, 1]")
    until = time.time() + seconds
    ends = time.monotonic() + seconds  # CLOCK_MONOTONIC: the same clock in every process
    document = _read(data_dir)
    document.setdefault("throttle", {})[service] = {
        "until": until,
        "ends_monotonic": ends,
        "operations": sorted(set(operations)),
        "rate": rate,
    }
    _write(data_dir, document)
    return until


def clear(data_dir: Path) -> None:
    """End every declared throttle now."""
    _faults_path(data_dir).unlink(missing_ok=True)


def active_throttles(data_dir: Path, now: float | None = None) -> dict[str, dict[str, Any]]:
    now = time.monotonic() if now is None else now
    throttles = _read(data_dir).get("throttle") or {}
    return {
        s: t for s, t in throttles.items() if isinstance(t, dict) and float(t.get("ends_monotonic", 0)) > now
    }


@dataclass
class _Watch:
    data_dir: Path
    checked: float = -1e18
    throttles: dict[str, dict[str, Any]] | None = None


class _Switch:
    """The process-wide throttle switch the moto server consults (a 50 ms cache of faults.json)."""

    def __init__(self) -> None:
        self.watches: list[_Watch] = []
        self.injected: dict[str, int] = dict.fromkeys(SERVICES, 0)
        self.lock = threading.Lock()

    def decide(self, service: str, operation: str) -> bool:
        now = time.monotonic()
        with self.lock:
            for watch in self.watches:
                if now - watch.checked > 0.05:
                    watch.throttles = active_throttles(watch.data_dir)
                    watch.checked = now
                rule = (watch.throttles or {}).get(service)
                if rule is None or float(rule["ends_monotonic"]) <= time.monotonic():
                    continue
                if rule.get("operations") and operation not in rule["operations"]:
                    continue
                if random.random() < float(rule.get("rate", 1.0)):  # noqa: S311 - not cryptography
                    self.injected[service] += 1
                    return True
        return False


_switch = _Switch()
_installed = False
_install_lock = threading.Lock()


def injected_counts() -> dict[str, int]:
    """Requests answered with an injected throttle in this process, by service."""
    with _switch.lock:
        return dict(_switch.injected)


def install(data_dir: Path) -> None:
    """Make this process's moto server honour the throttles declared in ``data_dir`` (idempotent)."""
    global _installed  # noqa: PLW0603 - one process-wide patch of moto's WSGI dispatcher
    data_dir = data_dir.resolve()
    with _install_lock:
        with _switch.lock:
            if all(w.data_dir != data_dir for w in _switch.watches):
                _switch.watches.append(_Watch(data_dir))
        if _installed:
            return
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication  # noqa: PLC0415 - moto loads lazily

        original = DomainDispatcherApplication.__call__

        def __call__(  # noqa: N807 - replaces the method of that name
            self: Any, environ: dict[str, Any], start_response: Callable[..., Any]
        ) -> Any:
            target = str(environ.get("HTTP_X_AMZ_TARGET") or "")
            prefix, _, operation = target.partition(".")
            service = _TARGET_PREFIX.get(prefix)
            if service is not None and _switch.decide(service, operation):
                return _throttled(service, start_response)
            return original(self, environ, start_response)

        DomainDispatcherApplication.__call__ = __call__  # type: ignore[method-assign]
        _installed = True


def uninstall(data_dir: Path) -> None:
    """Stop watching ``data_dir`` (the patch stays, inert without watches)."""
    data_dir = data_dir.resolve()
    with _switch.lock:
        _switch.watches = [w for w in _switch.watches if w.data_dir != data_dir]


def _throttled(service: str, start_response: Callable[..., Any]) -> list[bytes]:
    namespace, code = _THROTTLE[service]
    body = json.dumps({"__type": f"{namespace}#{code}", "message": "Rate exceeded (injected fault)"}).encode()
    headers = [
        ("Content-Type", "application/x-amz-json-1.0"),
        ("x-amzn-ErrorType", code),
        ("x-amzn-RequestId", os.urandom(8).hex()),
        ("Content-Length", str(len(body))),
    ]
    if service == "sqs":
        headers.append(("x-amzn-query-error", f"{code};Sender"))
    start_response("400 Bad Request", headers)
    return [body]


# -- processes ----------------------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            stat = (entry / "stat").read_text()
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _cmdline(pid: int) -> str:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def runtime_pid(data_dir: Path) -> int:
    try:
        pid = int(json.loads((data_dir / "runtime.json").read_text(encoding="utf-8"))["pid"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise LookupError(f"no running runtime in {data_dir} (runtime.json missing)") from exc
    if not Path(f"/proc/{pid}").exists():
        raise LookupError(f"the runtime of {data_dir} (pid {pid}) is not running")
    return pid


def matcher_pid(data_dir: Path, runtime: int | None = None) -> int:
    """The live matcher process of the runtime serving ``data_dir``."""
    parent = runtime if runtime is not None else runtime_pid(data_dir)
    for pid in _children(parent):
        if "matcher-service" in _cmdline(pid):
            return pid
    raise LookupError("the runtime has no matcher process right now (restarting, or --no-matcher)")


def postgres_pid(data_dir: Path) -> int:
    try:
        pid = int((data_dir / "pg" / "postmaster.pid").read_text().splitlines()[0])
    except (OSError, ValueError, IndexError) as exc:
        raise LookupError(f"PostgreSQL of {data_dir} is not running") from exc
    return pid


@contextlib.contextmanager
def _stopped(pids: list[int]) -> Iterator[None]:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)


def kill_matcher(data_dir: Path, runtime: int | None = None) -> int:
    pid = matcher_pid(data_dir, runtime)
    os.kill(pid, signal.SIGKILL)
    return pid


def pause_matcher(data_dir: Path, seconds: float, runtime: int | None = None) -> int:
    pid = matcher_pid(data_dir, runtime)
    with _stopped([pid]):
        time.sleep(seconds)
    return pid


def pause_postgres(data_dir: Path, seconds: float) -> int:
    """SIGSTOP the postmaster and every backend for ``seconds``; SIGCONT even on Ctrl-C."""
    postmaster = postgres_pid(data_dir)
    with _stopped([postmaster, *_children(postmaster)]):
        time.sleep(seconds)
    return postmaster


def restart_postgres(data_dir: Path, down_seconds: float = 0.0, mode: str = "fast") -> None:
    """Stop PostgreSQL (``fast``: clean; ``immediate``: a crash, recovery on start), stay down
    ``down_seconds``, start it again with the options it ran with (``postmaster.opts``)."""
    if mode not in ("fast", "immediate"):
        raise ValueError("mode must be fast or immediate")
    pg_dir = (data_dir / "pg").resolve()
    postgres_pid(data_dir)  # LookupError when it is not running
    server = EmbeddedPostgres(pg_dir)
    pg_ctl = server._run  # the bundled binaries, as the right system user
    try:
        pg_ctl("pg_ctl", "-D", str(pg_dir), "-m", mode, "-w", "stop")
        time.sleep(down_seconds)
    finally:
        # ``restart`` of a stopped cluster starts it with the options in postmaster.opts.
        with contextlib.suppress(Exception):
            pg_ctl("pg_ctl", "-D", str(pg_dir), "-w", "-t", "60", "-l", str(pg_dir / "server.log"), "restart")
    postgres_pid(data_dir)


# -- the CLI: ``python -m localcloud fault ...`` -----------------------------------------------


def add_parser(sub: Any) -> None:
    """The ``fault`` subcommand of ``python -m localcloud``."""
    fault = sub.add_parser("fault", help="fault drills against a running runtime (docs/local.md)")
    fault.add_argument("--data-dir", type=Path, default=Path(".local-data"))
    target = fault.add_subparsers(dest="target", required=True)
    matcher = target.add_parser("matcher", help="kill or pause the matcher process")
    matcher.add_argument("action", choices=["kill", "pause"])
    matcher.add_argument("--seconds", type=float, default=5.0, help="how long a pause lasts")
    postgres = target.add_parser("postgres", help="restart or pause PostgreSQL")
    postgres.add_argument("action", choices=["restart", "pause"])
    postgres.add_argument("--seconds", type=float, default=5.0, help="pause length / time down on restart")
    postgres.add_argument(
        "--mode", choices=["fast", "immediate"], default="fast", help="how it stops (immediate: a crash)"
    )
    throttle_cmd = target.add_parser(
        "throttle", help="answer DynamoDB or SQS requests with throttling errors"
    )
    throttle_cmd.add_argument("service", choices=SERVICES)
    throttle_cmd.add_argument("--seconds", type=float, default=10.0)
    throttle_cmd.add_argument(
        "--operations", default="", help="comma-separated, e.g. PutItem,Query (default all)"
    )
    throttle_cmd.add_argument("--rate", type=float, default=1.0, help="fraction of requests throttled")
    target.add_parser("clear", help="end every throttle now")
    target.add_parser("status", help="print the active throttles")


def cli(args: Any) -> int:
    data_dir = Path(args.data_dir).resolve()
    out: list[str] = []
    try:
        if args.target == "matcher" and args.action == "kill":
            out.append(f"matcher pid {kill_matcher(data_dir)} killed")
        elif args.target == "matcher":
            out.append(f"matcher pid {pause_matcher(data_dir, args.seconds)} resumed after {args.seconds} s")
        elif args.target == "postgres" and args.action == "restart":
            restart_postgres(data_dir, args.seconds, args.mode)
            out.append(f"PostgreSQL restarted ({args.mode} stop, {args.seconds} s down)")
        elif args.target == "postgres":
            out.append(
                f"PostgreSQL pid {pause_postgres(data_dir, args.seconds)} resumed after {args.seconds} s"
            )
        elif args.target == "throttle":
            operations = [op for op in args.operations.split(",") if op]
            until = throttle(data_dir, args.service, args.seconds, operations, args.rate)
            out.append(f"{args.service} throttled until {time.strftime('%H:%M:%S', time.localtime(until))}")
        elif args.target == "clear":
            clear(data_dir)
            out.append("throttles cleared")
        else:
            out.append(json.dumps(active_throttles(data_dir), indent=2))
    except (LookupError, ValueError) as exc:
        sys.stderr.write(f"fault: {exc}\n")
        return 1
    sys.stdout.write("\n".join(out) + "\n")
    return 0
