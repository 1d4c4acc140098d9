"""``python -m trading.admin <command>``: the admin actions from a shell (local mode or ops).

Uses the same environment as the Lambdas (DB_* and table names); ``--dsn`` overrides the database.
With none of it set, it finds a running ``make run`` by its descriptor (``trading.admin.local``).
Errors are one JSON line on stderr; exit codes 0 ok, 1 refused, 2 usage, 3 unavailable, 4 internal.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, NoReturn

import psycopg2
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import ValidationError

from trading.adapters.database import lend
from trading.admin import local
from trading.admin.commands import COMMAND, AdminEnv, execute
from trading.domain.errors import DomainError, ErrorCode


def _parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(prog="python -m trading.admin", description=__doc__)
    parser.add_argument("--dsn", help="PostgreSQL DSN instead of DB_SECRET_ARN/DB_WRITER_HOST/...")
    parser.add_argument(
        "--local",
        metavar="DATA_DIR",
        help="the data dir of a running `make run` (default: found without any environment)",
    )
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


# Exit codes (docs/local.md, "Admin CLI"); every error is one JSON line {"code", "message"} on stderr
EXIT_OK = 0
EXIT_REJECTED = 1  # the command was refused: bad input or a domain rule (VALIDATION_ERROR, NOT_FOUND, ...)
EXIT_USAGE = 2  # the command line itself is wrong (USAGE)
EXIT_UNAVAILABLE = (
    3  # no runtime/stack to talk to, or it did not answer (LOCAL_RUNTIME_*, SERVICE_UNAVAILABLE)
)
EXIT_INTERNAL = 4  # anything else (INTERNAL_ERROR): a bug, reported in one line all the same


class _OneLineParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        _fail("USAGE", f"{message} (python -m trading.admin --help)")
        sys.exit(EXIT_USAGE)


def _fail(code: str, message: str) -> None:
    print(json.dumps({"code": code, "message": " ".join(message.split())}), file=sys.stderr)  # noqa: T201


def _env(args: argparse.Namespace) -> AdminEnv:
    dsn = args.dsn
    if args.local or not (dsn or local.configured()):
        dsn = dsn or local.apply(local.find(args.local))
    return AdminEnv(connect=(lambda: lend(psycopg2.connect(dsn))) if dsn else AdminEnv.connect)


def main(argv: list[str] | None = None) -> int:  # noqa: PLR0911 - one exit per kind of failure
    args = _parser().parse_args(argv)
    try:
        env = _env(args)
        result = execute(COMMAND.validate_python(_command(args)), env)
    except local.LocalRuntimeError as exc:
        _fail(exc.code, exc.message)
        return EXIT_UNAVAILABLE
    except ValidationError as exc:
        message = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        _fail(str(ErrorCode.VALIDATION_ERROR), message)
        return EXIT_REJECTED
    except DomainError as exc:
        _fail(str(exc.code), exc.message)
        return EXIT_REJECTED
    except (psycopg2.OperationalError, BotoCoreError) as exc:
        _fail(str(ErrorCode.SERVICE_UNAVAILABLE), f"{type(exc).__name__}: {exc}")
        return EXIT_UNAVAILABLE
    except ClientError as exc:
        error = exc.response.get("Error", {})
        _fail(str(error.get("Code", "AWS_ERROR")), str(error.get("Message", exc)))
        return EXIT_REJECTED
    except OSError as exc:
        _fail("OS_ERROR", f"{type(exc).__name__}: {exc}")
        return EXIT_REJECTED
    except Exception as exc:  # the promise is one line, never a traceback
        _fail(str(ErrorCode.INTERNAL_ERROR), f"{type(exc).__name__}: {exc}")
        return EXIT_INTERNAL
    print(json.dumps(result, indent=2))  # noqa: T201
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
