"""``python -m trading.admin <command>``: the admin actions from a shell (local mode or ops).

Uses the same environment as the Lambdas (DB_* and table names); ``--dsn`` overrides the database.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import psycopg2
from pydantic import ValidationError

from trading.adapters.database import lend
from trading.admin.commands import COMMAND, AdminEnv, execute
from trading.domain.errors import DomainError, ErrorCode


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m trading.admin", description=__doc__)
    parser.add_argument("--dsn", help="PostgreSQL DSN instead of DB_SECRET_ARN/DB_WRITER_HOST/...")
    sub = parser.add_subparsers(dest="action", required=True)
    p = sub.add_parser("create-account")
    p.add_argument("account_id")
    for name in ("deposit", "withdraw"):
        p = sub.add_parser(name)
        p.add_argument("account_id")
        p.add_argument("asset")
        p.add_argument("amount", help="decimal string in the asset's units, e.g. 1000.50")
        p.add_argument("--transfer-id", help="idempotency key (default: random)")
    p = sub.add_parser("create-key")
    p.add_argument("account_id")
    p.add_argument("--scopes", default="trade,read", help="comma separated: trade,read")
    p = sub.add_parser("revoke-key", help="revoke a key (refused within the authorizer's 60 s key cache)")
    p.add_argument("key_id")
    p = sub.add_parser("list-keys", help="an account's keys: id, scopes, status (never a secret or hash)")
    p.add_argument("account_id")
    p = sub.add_parser("put-instruments", help="store instruments (default: the demo set)")
    p.add_argument("--file", help="JSON file with a list of instruments")
    for name in ("halt", "resume"):
        p = sub.add_parser(name)
        p.add_argument("symbol")
    sub.add_parser("seed-demo")
    return parser


def _command(args: argparse.Namespace) -> dict[str, Any]:
    action = args.action.replace("-", "_")
    raw: dict[str, Any] = {"action": action}
    if action in ("create_account", "create_key", "list_keys", "deposit", "withdraw"):
        raw["account_id"] = args.account_id
    if action in ("deposit", "withdraw"):
        raw.update(asset=args.asset, amount=args.amount)
        if args.transfer_id:
            raw["transfer_id"] = args.transfer_id
    if action == "create_key":
        raw["scopes"] = [s.strip() for s in args.scopes.split(",") if s.strip()]
    if action == "put_instruments" and args.file:
        with open(args.file, encoding="utf-8") as fh:  # noqa: PTH123
            raw["instruments"] = json.load(fh)
    if action == "revoke_key":
        raw["key_id"] = args.key_id
    if action in ("halt", "resume"):
        raw["symbol"] = args.symbol
    return raw


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    env = AdminEnv(connect=(lambda: lend(psycopg2.connect(args.dsn))) if args.dsn else AdminEnv.connect)
    try:
        result = execute(COMMAND.validate_python(_command(args)), env)
    except ValidationError as exc:
        message = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        print(json.dumps({"code": str(ErrorCode.VALIDATION_ERROR), "message": message}), file=sys.stderr)  # noqa: T201
        return 1
    except DomainError as exc:
        print(json.dumps({"code": str(exc.code), "message": exc.message}), file=sys.stderr)  # noqa: T201
        return 1
    print(json.dumps(result, indent=2))  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main())
