"""Admin command line for the trade log.

    python -m trading.tradelog export  --dsn DSN --bucket B --date 2026-11-25
    python -m trading.tradelog restore --bucket B --date 2026-11-25 [--days 7] [--tier Standard]
    python -m trading.tradelog query   --bucket B --date 2026-11-25 [--symbol BTC-USD] [--account A]

``query`` prints the trades as JSON lines and a summary on stderr; exit status 3 when the day is
still archived (run ``restore`` and wait). AWS credentials/endpoint come from the usual boto3
environment (``AWS_ENDPOINT_URL`` for the local runtime).
"""

import argparse
import json
import sys
from datetime import date

import boto3
import psycopg2

from trading.tradelog.export import export_day
from trading.tradelog.restore import NotRestoredError, query_day, request_restore


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m trading.tradelog")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("export", "restore", "query"):
        cmd = sub.add_parser(name)
        cmd.add_argument("--bucket", required=True)
        cmd.add_argument("--date", required=True, type=date.fromisoformat)
        if name == "export":
            cmd.add_argument("--dsn", required=True)
        if name == "restore":
            cmd.add_argument("--days", type=int, default=7)
            cmd.add_argument("--tier", default="Standard", choices=["Expedited", "Standard", "Bulk"])
        if name == "query":
            cmd.add_argument("--symbol")
            cmd.add_argument("--account")
    args = parser.parse_args(argv)
    s3 = boto3.client("s3")
    out = sys.stdout
    if args.command == "export":
        conn = psycopg2.connect(args.dsn)
        try:
            with conn:
                result = export_day(conn, s3, args.bucket, args.date)
        finally:
            conn.close()
        out.write(
            json.dumps({"date": args.date.isoformat(), "counts": result.counts, "keys": result.keys}) + "\n"
        )
        return 0
    if args.command == "restore":
        statuses = request_restore(s3, args.bucket, args.date, args.days, args.tier)
        for status in statuses:
            out.write(json.dumps(status.__dict__) + "\n")
        return 0 if all(s.readable for s in statuses) else 3
    count = 0
    try:
        for trade in query_day(s3, args.bucket, args.date, args.symbol, args.account):
            out.write(json.dumps(trade) + "\n")
            count += 1
    except NotRestoredError as exc:
        sys.stderr.write(f"{exc}\n")
        return 3
    sys.stderr.write(f"{count} trades on {args.date.isoformat()}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
