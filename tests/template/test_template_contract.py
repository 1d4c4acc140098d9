"""template.yaml against docs/architecture.md: functions, environment, tables, queues, events."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
ARCHITECTURE = (REPO_ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")


def _section(title_prefix: str) -> str:
    start = ARCHITECTURE.index(f"\n## {title_prefix}")
    end = ARCHITECTURE.find("\n## ", start + 1)
    return ARCHITECTURE[start : end if end != -1 else None]


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def _documented_functions() -> list[str]:
    return re.findall(r"^\| `([a-z_]+)` \|", _section("Functions"), flags=re.MULTILINE)


def _documented_tables() -> dict[str, str]:
    rows = re.findall(r"^\| `(\w+Table)` \| (.+?) \|", _section("DynamoDB tables"), flags=re.MULTILINE)
    return dict(rows)


def _documented_env_vars() -> set[str]:
    text = _section("Environment variables").split("Locally the runtime")[0]
    return set(re.findall(r"`([A-Z][A-Z0-9_]+)`", text))


def _refs(node: Any) -> set[str]:
    """Logical ids referenced by Ref, Fn::GetAtt or ${...} inside Fn::Sub (pseudo parameters left out)."""
    return {name for name in _all_refs(node) if not name.startswith("AWS::")}


def _all_refs(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, list):
        for item in node:
            found |= _all_refs(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                found.add(value.split(".")[0])
            elif key == "Fn::GetAtt":
                found.add(value[0] if isinstance(value, list) else value.split(".")[0])
            elif key == "Fn::Sub":
                text = value if isinstance(value, str) else value[0]
                found |= {t.split(".")[0] for t in re.findall(r"\$\{([^}!]+)\}", text)}
                if isinstance(value, list):
                    found |= _all_refs(value[1])
            else:
                found |= _all_refs(value)
    return found


def test_the_contract_lists_are_parsed() -> None:
    # Given docs/architecture.md
    # When parsing its function, table and environment lists
    # Then they are the size the contract has (a guard against a silently empty parse)
    assert len(_documented_functions()) == 17
    assert len(_documented_tables()) == 6
    assert {"ORDERS_TABLE", "DB_SECRET_ARN", "WS_MANAGEMENT_ENDPOINT", "LOG_LEVEL"} <= _documented_env_vars()


@pytest.mark.parametrize("name", _documented_functions())
def test_every_documented_function_exists_with_its_code_layer_and_service_name(
    name: str, sam_template: dict[str, Any]
) -> None:
    # Given a function named in docs/architecture.md
    resource = sam_template["Resources"].get(f"{_camel(name)}Function")
    globals_ = sam_template["Globals"]["Function"]

    # When looking it up by its logical id
    # Then it is a SAM function from functions/<name>/ with the shared layer, handler and service name
    assert resource is not None and resource["Type"] == "AWS::Serverless::Function"
    props = resource["Properties"]
    assert props["CodeUri"] == f"functions/{name}/"
    assert (REPO_ROOT / "functions" / name / "app.py").is_file()
    assert props.get("Handler", globals_["Handler"]) == "app.handler"
    assert props.get("Layers", globals_["Layers"]) == [{"Ref": "TradingLayer"}]
    assert props["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"] == name


def test_every_documented_environment_variable_reaches_every_function(cfn_resources: dict[str, Any]) -> None:
    # Given the contract's environment variables
    expected = _documented_env_vars()

    # When reading the translated functions' environments (Globals merged by SAM)
    functions = {lid: r for lid, r in cfn_resources.items() if r["Type"] == "AWS::Lambda::Function"}

    # Then every function has every variable
    assert len(functions) == 17
    for logical_id, resource in functions.items():
        env = resource["Properties"]["Environment"]["Variables"]
        assert expected <= set(env), (logical_id, expected - set(env))


def test_environment_values_point_at_the_right_resources(sam_template: dict[str, Any]) -> None:
    # Given the global environment
    env = sam_template["Globals"]["Function"]["Environment"]["Variables"]

    # When reading what each variable references
    # Then names, URLs and hosts come from the resources the contract names
    expected = {
        "ORDERS_TABLE": "OrdersTable",
        "ORDER_BOOKS_TABLE": "OrderBooksTable",
        "CONNECTIONS_TABLE": "ConnectionsTable",
        "API_KEYS_TABLE": "ApiKeysTable",
        "IDEMPOTENCY_TABLE": "IdempotencyTable",
        "INSTRUMENTS_TABLE": "InstrumentsTable",
        "ORDERS_QUEUE_URL": "OrdersQueue",
        "NOTIFICATIONS_QUEUE_URL": "NotificationsQueue",
        "SETTLEMENT_DLQ_URL": "SettlementDeadLetterQueue",
        "EVENT_BUS_NAME": "TradingBus",
        "DB_SECRET_ARN": "DbSecret",
        "DB_WRITER_HOST": "DbProxy",
        "DB_READER_HOST": "DbProxyReaderEndpoint",
        "WS_MANAGEMENT_ENDPOINT": "WebSocketApi",
        "TRADE_LOG_BUCKET": "TradeLogBucket",
    }
    for variable, logical_id in expected.items():
        assert _refs(env[variable]) == {logical_id}, variable
    assert env["DB_PORT"] == "5432"
    assert env["WS_MANAGEMENT_ENDPOINT"] == {
        "Fn::Sub": "https://${WebSocketApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/ws"
    }


@pytest.mark.parametrize("logical_id", sorted(_documented_tables()))
def test_every_documented_table_is_on_demand_with_pitr_encryption_and_its_keys(
    logical_id: str, resources: dict[str, Any]
) -> None:
    # Given a table row of docs/architecture.md, e.g. "`symbol` (S) / `sk` (S)"
    documented_keys = re.findall(r"`(\w+)` \(S\)", _documented_tables()[logical_id])

    # When reading the table resource
    props = resources[logical_id]["Properties"]

    # Then it is PAY_PER_REQUEST with PITR and SSE, keyed as documented
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["SSESpecification"] == {"SSEEnabled": True}
    key_names = [k["AttributeName"] for k in props["KeySchema"]]
    assert key_names == documented_keys[: len(key_names)]
    assert props["DeletionProtectionEnabled"] == {"Fn::If": ["IsProd", True, False]}


def test_table_extras_streams_ttl_and_indexes_match_the_contract(resources: dict[str, Any]) -> None:
    # Given the tables with extras in docs/architecture.md
    orders = resources["OrdersTable"]["Properties"]
    connections = resources["ConnectionsTable"]["Properties"]
    idempotency = resources["IdempotencyTable"]["Properties"]

    # When reading their streams, TTL and GSIs
    def gsi(props: dict[str, Any]) -> dict[str, list[str]]:
        return {
            index["IndexName"]: [k["AttributeName"] for k in index["KeySchema"]]
            for index in props.get("GlobalSecondaryIndexes", [])
        }

    # Then they are exactly the documented ones
    assert gsi(orders) == {
        "by-account": ["account_id", "created_at"],
        "by-book": ["book_symbol", "priority_seq"],
        "by-account-state": ["account_state", "created_at"],
    }
    projections = {i["IndexName"]: i["Projection"] for i in orders["GlobalSecondaryIndexes"]}
    assert projections["by-book"] == {"ProjectionType": "KEYS_ONLY"}  # recovery re-reads each item
    assert orders["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert gsi(connections) == {"by-channel": ["channel", "connection_id"]}
    assert connections["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert idempotency["TimeToLiveSpecification"] == {"AttributeName": "expiration", "Enabled": True}


def test_orders_queue_is_fifo_named_after_the_stack_with_a_fifo_dlq(resources: dict[str, Any]) -> None:
    # Given the orders queue and its dead-letter queue
    orders = resources["OrdersQueue"]["Properties"]
    dlq = resources["OrdersDeadLetterQueue"]["Properties"]

    # When reading their settings
    # Then orders.fifo is FIFO, explicitly named, without content-based dedup, redriving after 5 receives
    assert orders["FifoQueue"] is True
    assert orders["QueueName"] == {"Fn::Sub": "${AWS::StackName}-orders.fifo"}
    assert orders["ContentBasedDeduplication"] is False
    assert orders["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": ["OrdersDeadLetterQueue", "Arn"]},
        "maxReceiveCount": 5,
    }
    assert dlq["FifoQueue"] is True
    assert dlq["QueueName"]["Fn::Sub"].endswith(".fifo")


def test_notifications_queue_has_a_dlq_and_every_queue_is_encrypted(resources: dict[str, Any]) -> None:
    # Given every SQS queue of the template
    queues = {lid: r["Properties"] for lid, r in resources.items() if r["Type"] == "AWS::SQS::Queue"}

    # When reading their settings
    # Then each is SSE-encrypted and explicitly named (moto and the runtime need the names)
    assert {"NotificationsQueue", "NotificationsDeadLetterQueue", "SettlementDeadLetterQueue"} <= set(queues)
    assert queues["NotificationsQueue"]["RedrivePolicy"]["deadLetterTargetArn"] == {
        "Fn::GetAtt": ["NotificationsDeadLetterQueue", "Arn"]
    }
    for props in queues.values():
        assert props["SqsManagedSseEnabled"] is True
        assert "QueueName" in props


def test_bus_rules_and_archive_follow_the_contract(resources: dict[str, Any]) -> None:
    # Given the event bus, its fan-out rule, archive and the state machine's rule
    bus = resources["TradingBus"]["Properties"]
    fan_out = resources["AllTradingEventsRule"]["Properties"]
    archive = resources["TradingArchive"]["Properties"]
    trade_rule = resources["SettlementStateMachine"]["Properties"]["Events"]["TradeExecuted"]["Properties"]

    # When reading their patterns and targets
    documented_types = set(re.findall(r"^(\w+)\s+\{", _section("Event detail formats"), flags=re.MULTILINE))

    # Then every detail type goes to the notifications queue, TradeExecuted to settlement, all is archived
    assert bus["Name"] == {"Fn::Sub": "${AWS::StackName}-trading"}
    assert fan_out["EventBusName"] == {"Ref": "TradingBus"}
    assert fan_out["EventPattern"]["source"] == ["trading.matcher"]
    assert set(fan_out["EventPattern"]["detail-type"]) == documented_types
    assert [t["Arn"] for t in fan_out["Targets"]] == [{"Fn::GetAtt": ["NotificationsQueue", "Arn"]}]
    assert archive["SourceArn"] == {"Fn::GetAtt": ["TradingBus", "Arn"]}
    assert "EventPattern" not in archive
    assert trade_rule["EventBusName"] == {"Ref": "TradingBus"}
    assert trade_rule["Pattern"] == {"source": ["trading.matcher"], "detail-type": ["TradeExecuted"]}


def test_event_sources_match_the_function_table(resources: dict[str, Any]) -> None:
    # Given the functions with non-HTTP triggers
    def events(logical_id: str) -> list[dict[str, Any]]:
        return list(resources[logical_id]["Properties"]["Events"].values())

    # When reading their event sources
    (notify,) = events("NotifyFunction")
    (archiver,) = events("OrderArchiverFunction")
    schedules = {
        lid: [e["Properties"]["Schedule"] for e in events(lid)]
        for lid in ("HoldSweeperFunction", "ReconcileFunction", "TradeExportFunction")
    }

    # Then notify drains the notifications queue reporting partial failures, the archiver reads the
    # Orders stream, and the schedules are the documented ones; admin has no trigger at all
    assert notify["Type"] == "SQS"
    assert notify["Properties"]["Queue"] == {"Fn::GetAtt": ["NotificationsQueue", "Arn"]}
    assert notify["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert archiver["Type"] == "DynamoDB"
    assert archiver["Properties"]["Stream"] == {"Fn::GetAtt": ["OrdersTable", "StreamArn"]}
    assert archiver["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert schedules == {
        "HoldSweeperFunction": ["rate(5 minutes)"],
        "ReconcileFunction": ["rate(1 hour)"],
        "TradeExportFunction": ["cron(15 0 * * ? *)"],
    }
    assert "Events" not in resources["AdminFunction"]["Properties"]


def test_state_machine_substitutions_resolve_both_ways(resources: dict[str, Any]) -> None:
    # Given the settlement state machine and its definition file
    props = resources["SettlementStateMachine"]["Properties"]
    text = (REPO_ROOT / props["DefinitionUri"]).read_text(encoding="utf-8")

    # When comparing the ${...} placeholders with DefinitionSubstitutions
    placeholders = set(re.findall(r"\$\{(\w+)\}", text))
    substitutions = props["DefinitionSubstitutions"]

    # Then every placeholder has a substitution, every substitution is used, each names a resource
    assert placeholders == set(substitutions)
    assert substitutions == {
        "SettleFunctionArn": {"Fn::GetAtt": ["SettleFunction", "Arn"]},
        "SettlementDlqUrl": {"Ref": "SettlementDeadLetterQueue"},
    }
    assert props["Type"] == "EXPRESS"
    assert props["Tracing"] == {"Enabled": True}
    assert _refs(props["Logging"]) == {"SettlementStateMachineLogGroup"}


def test_settlement_definition_retries_typed_errors_and_dead_letters_the_rest() -> None:
    # Given the settlement ASL
    asl = json.loads((REPO_ROOT / "statemachines" / "settlement.asl.json").read_text(encoding="utf-8"))
    settle = asl["States"][asl["StartAt"]]

    # When following its Retry and Catch
    retried = {name for rule in settle["Retry"] for name in rule["ErrorEquals"]}
    (catch,) = settle["Catch"]
    dead_letter = asl["States"][catch["Next"]]

    # Then the transient ledger error is retried by class name and everything else goes to the DLQ
    assert settle["Resource"] == "arn:aws:states:::lambda:invoke"
    assert settle["Parameters"]["FunctionName"] == "${SettleFunctionArn}"
    assert "TransientSettlementError" in retried
    assert "States.ALL" not in retried
    assert catch["ErrorEquals"] == ["States.ALL"]
    assert dead_letter["Resource"] == "arn:aws:states:::sqs:sendMessage"
    assert dead_letter["Parameters"]["QueueUrl"] == "${SettlementDlqUrl}"
    assert asl["States"][settle["Next"]]["Type"] == "Succeed"


def test_samconfig_has_dev_and_prod_with_known_parameters(sam_template: dict[str, Any]) -> None:
    # Given samconfig.toml
    config = tomllib.loads((REPO_ROOT / "samconfig.toml").read_text(encoding="utf-8"))

    # When reading the deploy parameters of each environment
    # Then both exist, override only parameters the template declares, and allow IAM + macros
    assert config["version"] == 0.1
    for env in ("dev", "prod"):
        deploy = config[env]["deploy"]["parameters"]
        overrides = dict(item.split("=", 1) for item in deploy["parameter_overrides"])
        assert set(overrides) <= set(sam_template["Parameters"]), env
        assert overrides["Environment"] == env
        assert {"CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"} <= set(deploy["capabilities"].split())
        assert deploy["stack_name"] == f"trading-{env}"
    assert config["prod"]["deploy"]["parameters"]["confirm_changeset"] is True


def test_deploy_guide_documents_every_parameter_and_shield_standard(sam_template: dict[str, Any]) -> None:
    # Given docs/deploy.md
    guide = (REPO_ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    table = guide[guide.index("## Parameters") : guide.index("## Post-deploy smoke test")]

    # When looking for each template parameter in its parameters table
    def documented(name: str) -> bool:
        tier = next((p for p in ("StandardTier", "ProTier") if name.startswith(p)), None)
        return f"`{tier}*`" in table if tier else f"`{name}`" in table

    missing = [name for name in sam_template["Parameters"] if not documented(name)]

    # Then none is undocumented, and the guide states that Shield Standard needs nothing
    assert missing == []
    assert "Shield Standard is always on" in guide
    assert "sam build && sam deploy --config-env prod" in guide
