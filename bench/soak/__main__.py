"""``python -m bench.soak``: start a local runtime (fresh data dir), soak it, print one JSON line.

Exit status 0 when every check passed, 1 when one failed, 2 on a usage error. Logs go to
stderr (``--log-level``); the summary is the only line on stdout.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import shutil
import sys
import tempfile
import warnings
from pathlib import Path

warnings.filterwarnings("ignore", module="platformdirs")  # as localcloud's CLI does

from localcloud.runtime import LocalRuntime  # noqa: E402 - after the filter

from bench.soak.run import SoakConfig, run_soak  # noqa: E402


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--requests", type=int, default=1500, help="API requests to send (at least)")
    parser.add_argument("--kills", type=int, default=2, help="SIGKILLs of the matcher process")
    parser.add_argument("--stops", type=int, default=1, help="SIGSTOP ... SIGCONT of the matcher")
    parser.add_argument("--stop-seconds", type=float, default=3.0, help="how long a SIGSTOP lasts")
    parser.add_argument("--accounts", type=int, default=10, help="funded accounts (at least 8)")
    parser.add_argument("--workers", type=int, default=4, help="client threads")
    parser.add_argument("--quiesce-timeout", type=float, default=600.0, help="seconds")
    parser.add_argument("--data-dir", type=Path, help="default: a temporary dir, removed after a clean run")
    parser.add_argument("--log-level", default="WARNING")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.accounts < 8:
        print("--accounts must be at least 8", file=sys.stderr)
        return 2
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr)
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="soak-"))
    config = SoakConfig(
        seed=args.seed,
        requests=args.requests,
        kills=args.kills,
        stops=args.stops,
        accounts=args.accounts,
        workers=args.workers,
        stop_s=args.stop_seconds,
        quiesce_timeout_s=args.quiesce_timeout,
    )
    runtime = LocalRuntime(
        data_dir / "data", rest_port=0, ws_port=0, run_schedules=False, persist_dynamodb=False
    )
    # The functions log to stdout (as in Lambda); here stdout carries the summary line only.
    with contextlib.redirect_stdout(sys.stderr):
        runtime.start()
        try:
            result = run_soak(runtime, config)
        finally:
            runtime.stop()
    result["data_dir"] = str(data_dir)
    if result["ok"] and args.data_dir is None:
        shutil.rmtree(data_dir, ignore_errors=True)
        result["data_dir"] = None
    print(json.dumps(result, separators=(",", ":")), flush=True)
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
