"""Deploy rehearsal: the translated template is created as a stack in moto's CloudFormation.

This is the same code path the local runtime uses (localcloud.template).
"""

from __future__ import annotations

import importlib.util
import logging
import socket
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from localcloud.template import StackResult, deploy_to_moto, function_code_dirs, rehearsal_template
from moto.server import ThreadedMotoServer

REPO_ROOT = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture(scope="module")
def rehearsal(translated: dict[str, Any]) -> dict[str, Any]:
    return rehearsal_template(
        translated,
        REPO_ROOT,
        replacements={"DbProxy.Endpoint": "127.0.0.1", "DbProxyReaderEndpoint.Endpoint": "127.0.0.1"},
    )


@pytest.fixture(scope="module")
def stack(moto_url: str, rehearsal: dict[str, Any]) -> StackResult:
    return deploy_to_moto(moto_url, f"rehearsal-{uuid.uuid4().hex[:8]}", rehearsal)


def _client(service: str, moto_url: str) -> Any:
    return boto3.client(service, endpoint_url=moto_url, region_name=REGION, **CREDENTIALS)


def test_tables_come_up_with_their_keys_indexes_and_streams(stack: StackResult, moto_url: str) -> None:
    # Given the stack created in moto
    dynamodb = _client("dynamodb", moto_url)

    # When describing the tables it created
    tables = {
        lid: dynamodb.describe_table(TableName=stack.physical_ids[lid])["Table"]
        for lid in (
            "OrdersTable",
            "OrderBooksTable",
            "ConnectionsTable",
            "ApiKeysTable",
            "IdempotencyTable",
            "InstrumentsTable",
        )
    }

    # Then they are on-demand, keyed as in docs/architecture.md, Orders with its GSI and stream
    assert all(t["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST" for t in tables.values())
    orders = tables["OrdersTable"]
    assert [k["AttributeName"] for k in orders["KeySchema"]] == ["order_id"]
    assert [i["IndexName"] for i in orders["GlobalSecondaryIndexes"]] == [
        "by-account",
        "by-book",
        "by-account-state",
    ]
    assert orders["StreamSpecification"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert [k["AttributeName"] for k in tables["OrderBooksTable"]["KeySchema"]] == ["symbol", "sk"]


def test_orders_queue_is_fifo_with_a_redrive_to_its_dead_letter_queue(
    stack: StackResult, moto_url: str
) -> None:
    # Given the queues of the stack
    sqs = _client("sqs", moto_url)
    orders_url = stack.physical_ids["OrdersQueue"]

    # When reading the orders queue attributes
    attributes = sqs.get_queue_attributes(QueueUrl=orders_url, AttributeNames=["All"])["Attributes"]

    # Then it is the FIFO queue named after the stack, redriving to the FIFO DLQ after 5 receives
    assert orders_url.endswith("-orders.fifo")
    assert attributes["FifoQueue"] == "true"
    redrive = attributes["RedrivePolicy"]
    assert "orders-dlq.fifo" in redrive
    assert '"maxReceiveCount": 5' in redrive.replace("'", '"') or '"maxReceiveCount":5' in redrive


def test_event_bus_rules_and_state_machine_come_up(stack: StackResult, moto_url: str) -> None:
    # Given the stack's bus
    events = _client("events", moto_url)
    bus = stack.outputs["EventBusName"]

    # When listing its rules and describing the settlement state machine
    rules = events.list_rules(EventBusName=bus)["Rules"]
    sfn = _client("stepfunctions", moto_url)
    machine = sfn.describe_state_machine(stateMachineArn=stack.outputs["SettlementStateMachineArn"])

    # Then the fan-out rule and the TradeExecuted rule exist, and the definition has no unresolved ${...}
    patterns = [r.get("EventPattern", "") for r in rules]
    assert any('"TradeExecuted"' in p and '"BookUpdated"' not in p for p in patterns)
    assert any('"BookUpdated"' in p for p in patterns)
    assert "${" not in machine["definition"]
    assert stack.physical_ids["SettleFunction"] in machine["definition"]


def test_buckets_and_functions_come_up(stack: StackResult, moto_url: str, rehearsal: dict[str, Any]) -> None:
    # Given the stack's buckets and functions
    s3 = _client("s3", moto_url)
    lambda_client = _client("lambda", moto_url)

    # When listing them
    buckets = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    functions = {f["FunctionName"]: f for f in lambda_client.list_functions()["Functions"]}

    # Then the four always-on buckets and all 17 functions exist, with the contract's environment
    for lid in ("WebBucket", "TradeLogBucket", "BackupsBucket", "AccessLogsBucket"):
        assert stack.physical_ids[lid] in buckets
    code_dirs = function_code_dirs(rehearsal)
    assert len(code_dirs) == 17
    for lid, code_dir in code_dirs.items():
        assert code_dir.parent == REPO_ROOT / "functions"
        env = functions[stack.physical_ids[lid]]["Environment"]["Variables"]
        assert env["ORDERS_QUEUE_URL"] == stack.physical_ids["OrdersQueue"]
        assert env["DB_WRITER_HOST"] == "127.0.0.1"
        assert env["EVENT_BUS_NAME"] == stack.outputs["EventBusName"]


def test_event_sources_and_schedules_come_up(stack: StackResult, moto_url: str) -> None:
    # Given the stack's functions
    lambda_client = _client("lambda", moto_url)
    events = _client("events", moto_url)

    # When listing event source mappings and the schedule rules on the default bus
    mappings = {
        m["FunctionArn"].rsplit(":", 1)[1]: m
        for m in lambda_client.list_event_source_mappings()["EventSourceMappings"]
    }
    # (other stacks may share this moto process: keep the rules that target this stack's functions)
    own_functions = {
        physical for logical, physical in stack.physical_ids.items() if logical.endswith("Function")
    }
    schedules = {
        r["Name"]: r.get("ScheduleExpression")
        for r in events.list_rules()["Rules"]
        if any(
            t["Arn"].rsplit(":", 1)[1] in own_functions
            for t in events.list_targets_by_rule(Rule=r["Name"])["Targets"]
        )
    }

    # Then notify drains the notifications queue and the archiver reads the Orders stream, both
    # reporting partial batch failures, and the three schedules exist
    notify = mappings[stack.physical_ids["NotifyFunction"]]
    archiver = mappings[stack.physical_ids["OrderArchiverFunction"]]
    assert notify["EventSourceArn"].endswith(":" + stack.physical_ids["NotificationsQueue"].rsplit("/", 1)[1])
    assert "/stream/" in archiver["EventSourceArn"]
    assert notify["FunctionResponseTypes"] == archiver["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert sorted(e for e in schedules.values() if e) == [
        "cron(15 0 * * ? *)",
        "rate(1 hour)",
        "rate(5 minutes)",
    ]


def test_every_skipped_type_is_logged_once(
    translated: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    # Given the translated template
    # When building the rehearsal template
    with caplog.at_level(logging.DEBUG, logger="localcloud.template"):
        template = rehearsal_template(translated, REPO_ROOT)

    # Then every skipped resource type is named in exactly one DEBUG line with its reason, the
    # terminal (INFO) gets one summary line, and nothing skipped is left
    skipped_types = set(template["Metadata"]["LocalCloud"]["Skipped"].values())
    records = [r for r in caplog.records if r.name == "localcloud.template"]
    lines = [r.getMessage() for r in records if r.levelno == logging.DEBUG]
    for resource_type in skipped_types:
        assert sum(f" {resource_type} (" in line for line in lines) == 1, resource_type
    summary = [
        r.getMessage()
        for r in records
        if r.levelno >= logging.INFO and "not hosted locally" in r.getMessage()
    ]
    assert len(summary) == 1
    assert f"{len(template['Metadata']['LocalCloud']['Skipped'])} resources" in summary[0]
    assert {"AWS::ApiGatewayV2::Api", "AWS::WAFv2::WebACL", "AWS::RDS::DBCluster", "AWS::ECS::Service"} <= (
        skipped_types
    )
    assert not set(template["Metadata"]["LocalCloud"]["Skipped"]) & set(template["Resources"])


# ---------------------------------------------------------------- post-deploy smoke test (scripts/)
def _smoke_module() -> Any:
    """scripts/smoke_test.py, imported by path (scripts/ is not a package)."""
    if "smoke_test" not in sys.modules:
        spec = importlib.util.spec_from_file_location("smoke_test", REPO_ROOT / "scripts" / "smoke_test.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["smoke_test"] = module  # dataclasses resolve their module by name
        spec.loader.exec_module(module)
    return sys.modules["smoke_test"]


def test_smoke_dead_letter_check_reads_the_stack_and_flags_a_dead_letter(
    stack: StackResult, moto_url: str
) -> None:
    # Given the smoke test's view of the rehearsal stack (outputs and physical ids from CloudFormation)
    smoke = _smoke_module()
    loaded = smoke.load_stack(_client("cloudformation", moto_url), stack.stack_id)
    sqs = _client("sqs", moto_url)
    assert loaded.physical_ids == stack.physical_ids

    # When the dead-letter queues are empty, then a settlement failure is parked
    before = smoke.check_dead_letter_queues_empty(sqs, loaded)
    sqs.send_message(QueueUrl=loaded.physical_ids["SettlementDeadLetterQueue"], MessageBody="{}")

    # Then the check passes first and fails afterwards, naming the queue
    assert before == "4 DLQs empty"
    with pytest.raises(smoke.CheckFailedError, match="SettlementDeadLetterQueue"):
        smoke.check_dead_letter_queues_empty(sqs, loaded)


def test_smoke_cloudfront_check_requires_security_headers_and_https_redirect() -> None:
    # Given a fake edge that serves the UI and the API, with or without the security headers
    smoke = _smoke_module()
    stack = smoke.Stack("s", {"CloudFrontDomain": "d.example", "RestApiUrl": "https://api.example/dev"}, {})

    def edge(headers: dict[str, str]) -> httpx.Client:
        def answer(request: httpx.Request) -> httpx.Response:
            if request.url.scheme == "http":
                return httpx.Response(301, headers={"location": f"https://{request.url.host}/"})
            return httpx.Response(200, headers=headers, text="ok")

        return httpx.Client(transport=httpx.MockTransport(answer))

    secure = dict.fromkeys(smoke.SECURITY_HEADERS, "set")

    # When the smoke check runs against each
    # Then it passes with the headers and names the missing ones without
    assert smoke.check_cloudfront(edge(secure), stack) == "UI, headers, /v1 routing, HTTPS redirect"
    with pytest.raises(smoke.CheckFailedError, match="strict-transport-security"):
        smoke.check_cloudfront(edge({}), stack)
