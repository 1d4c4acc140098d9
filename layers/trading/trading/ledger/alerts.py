"""Publishing a reconciliation mismatch on the trading bus (source ``trading.ledger``)."""

import json
from typing import Any

from trading.ledger.reconcile import ReconciliationReport

SOURCE = "trading.ledger"
DETAIL_TYPE = "ReconciliationMismatch"
_MAX_LISTED = 50  # keep the event well under EventBridge's 256 KB entry limit


def mismatch_event(report: ReconciliationReport, bus_name: str) -> dict[str, Any]:
    """The ``PutEvents`` entry for a report with mismatches."""
    body = report.to_dict()
    mismatches = list(body["mismatches"])  # type: ignore[call-overload]
    detail = {
        "mismatch_count": len(mismatches),
        "checks": sorted({m["check"] for m in mismatches}),
        "mismatches": mismatches[:_MAX_LISTED],
        "assets": body["assets"],
    }
    return {
        "Source": SOURCE,
        "DetailType": DETAIL_TYPE,
        "Detail": json.dumps(detail),
        "EventBusName": bus_name,
    }


def publish_mismatch(report: ReconciliationReport, bus_name: str, events_client: Any) -> None:
    response = events_client.put_events(Entries=[mismatch_event(report, bus_name)])
    if response.get("FailedEntryCount"):
        raise RuntimeError(f"could not publish {DETAIL_TYPE}: {response['Entries']}")
