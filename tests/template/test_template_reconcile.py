"""The reconcile function's wiring in template.yaml: the records it compares the ledger with reach
it (environment and read-only IAM), and its metrics are alarmed (docs/ledger.md, "Reconciliation")."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from trading.ledger.wiring import ReconcileSettings

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_the_reconcile_function_reads_orders_the_outbox_instruments_and_the_dlq_depth(
    resources: dict[str, Any], cfn_resources: dict[str, Any]
) -> None:
    # Given the reconcile function as written and as translated (Globals merged)
    props = resources["ReconcileFunction"]["Properties"]
    (translated,) = [
        r
        for r in cfn_resources.values()
        if r["Type"] == "AWS::Lambda::Function"
        and r["Properties"]["Environment"]["Variables"].get("POWERTOOLS_SERVICE_NAME") == "reconcile"
    ]
    env = translated["Properties"]["Environment"]["Variables"]
    # When reading its environment and policies
    policies = props["Policies"]
    read_tables = {
        json.dumps(p["DynamoDBReadPolicy"]["TableName"]) for p in policies if "DynamoDBReadPolicy" in p
    }
    statements = [s for p in policies if "Statement" in p for s in p["Statement"]]
    # Then every record its settings name is there, readable and nothing more on the queue
    assert env["ORDERS_TABLE"] == {"Ref": "OrdersTable"}
    assert env["ORDER_BOOKS_TABLE"] == {"Ref": "OrderBooksTable"}
    assert env["INSTRUMENTS_TABLE"] == {"Ref": "InstrumentsTable"}
    assert env["SETTLEMENT_DLQ_URL"] == {"Ref": "SettlementDeadLetterQueue"}
    assert int(env["RECONCILE_GRACE_SECONDS"]) == ReconcileSettings().reconcile_grace_seconds
    assert read_tables == {
        json.dumps({"Ref": t}) for t in ("OrdersTable", "OrderBooksTable", "InstrumentsTable")
    }
    assert {"Effect": "Allow", "Action": "sqs:GetQueueAttributes", "Resource": {
        "Fn::GetAtt": ["SettlementDeadLetterQueue", "Arn"]
    }} in statements  # fmt: skip
    assert not any("sqs:ReceiveMessage" in json.dumps(s) for s in statements)


def test_reconciliation_alarms_on_a_mismatch_and_on_no_proven_ok_run(resources: dict[str, Any]) -> None:
    # Given the alarms on the reconcile function's metrics
    alarms = {
        lid: r["Properties"]
        for lid, r in resources.items()
        if r["Type"] == "AWS::CloudWatch::Alarm"
        and r["Properties"].get("MetricName", "").startswith("Reconciliation")
    }
    handler = (REPO_ROOT / "functions" / "reconcile" / "app.py").read_text()
    # Then a mismatch alarms within the hour, and so do two hours without an ok run (missing data
    # is breaching: a reconcile that stopped running proves nothing)
    by_metric = {a["MetricName"]: a for a in alarms.values()}
    assert set(by_metric) == {"ReconciliationMismatches", "ReconciliationOk"}
    not_ok = by_metric["ReconciliationOk"]
    assert (not_ok["ComparisonOperator"], not_ok["Threshold"], not_ok["TreatMissingData"]) == (
        "LessThanThreshold",
        1,
        "breaching",
    )
    assert not_ok["Namespace"] == "Trading" and not_ok["Dimensions"] == [
        {"Name": "service", "Value": "reconcile"}
    ]
    assert all(a["AlarmActions"] == [{"Ref": "AlarmTopic"}] for a in alarms.values())
    # ... on metrics the handler emits
    assert all(f'name="{metric}"' in handler for metric in by_metric)
