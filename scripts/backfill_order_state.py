"""Give every ``Orders`` item written before the ``by-account-state`` index its ``account_state``.

Intake, the matcher and the sweeper write ``account_state`` with every status change
(``trading.domain.order_index``); items older than that have none, so ``GET /v1/orders?open=true``,
``?status=`` and cancel-all (which read the index) would not see them. Run once after the stack
update that adds the index (docs/architecture.md):

    ORDERS_TABLE=<stack>-OrdersTable-... python scripts/backfill_order_state.py [--dry-run]

Each write is conditional on the item still having no ``account_state`` and the status it was read
with, so it never overwrites what a live writer set meanwhile (a lost race is skipped and counted).
It scans in pages (bounded memory) and prints one JSON summary line.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from botocore.exceptions import ClientError
from trading.adapters import aws
from trading.domain.order_index import ACCOUNT_STATE, account_state


def backfill(table_name: str, *, dry_run: bool = False, page_size: int = 500) -> dict[str, int]:
    table = aws.resource("dynamodb").Table(table_name)
    counts = {"scanned": 0, "updated": 0, "already": 0, "raced": 0, "unusable": 0}
    kwargs: dict[str, Any] = {
        "ProjectionExpression": "order_id, account_id, #s, #as",
        "ExpressionAttributeNames": {"#s": "status", "#as": ACCOUNT_STATE},
        "Limit": page_size,
    }
    while True:
        page = table.scan(**kwargs)
        for item in page.get("Items", []):
            counts["scanned"] += 1
            if ACCOUNT_STATE in item:
                counts["already"] += 1
                continue
            if not item.get("account_id") or not item.get("status"):
                counts["unusable"] += 1
                continue
            if dry_run:
                counts["updated"] += 1
                continue
            try:
                table.update_item(
                    Key={"order_id": item["order_id"]},
                    UpdateExpression="SET #as = :as",
                    ConditionExpression="attribute_not_exists(#as) AND #s = :s",
                    ExpressionAttributeNames={"#as": ACCOUNT_STATE, "#s": "status"},
                    ExpressionAttributeValues={
                        ":as": account_state(str(item["account_id"]), str(item["status"])),
                        ":s": item["status"],
                    },
                )
                counts["updated"] += 1
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                    raise
                counts["raced"] += 1  # a writer moved it on (and wrote account_state itself)
        if "LastEvaluatedKey" not in page:
            return counts
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--table", default=os.environ.get("ORDERS_TABLE"), help="default: $ORDERS_TABLE")
    parser.add_argument("--dry-run", action="store_true", help="count, write nothing")
    args = parser.parse_args(argv)
    if not args.table:
        print(json.dumps({"code": "USAGE", "message": "give --table or ORDERS_TABLE"}), file=sys.stderr)  # noqa: T201
        return 2
    summary = {"table": args.table, "dry_run": args.dry_run, **backfill(args.table, dry_run=args.dry_run)}
    print(json.dumps(summary))  # noqa: T201 - the script's output
    return 0


if __name__ == "__main__":
    sys.exit(main())
