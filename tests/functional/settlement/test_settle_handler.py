"""The settle Lambda in-process with a real database, driven by the sample events and by the
settlement state machine's own definition (Retry on the transient error's class name, Catch to
the DLQ)."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import boto3
import psycopg2
import pytest
from settlement_support import Context, Funded, SettlementStateMachine, emf_metrics, event, load_function
from trading.adapters.database import ConnectionPool
from trading.domain.instruments import demo_instruments
from trading.ledger import post_transfer, reconcile
from trading.ledger.errors import PermanentSettlementError, TransientSettlementError
from trading.ledger.redrive import redrive

INSTRUMENTS = {i.symbol: i for i in demo_instruments()}


def invoke(funded: Funded, payload: Any, **options: str) -> Any:
    app = load_function("settle")
    return app.handler(
        payload, Context(), connect=lambda: funded.borrow(**options), instruments=lambda: INSTRUMENTS
    )


def test_the_sample_event_settles_and_emits_metrics(
    funded: Funded, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the sample TradeExecuted event / When the handler runs
    result = invoke(funded, event("settle/trade_executed.json"))
    # Then the trade settled, with its metrics
    assert result["settled"] == ["BTC-USD:1"]
    assert funded.balance("acct-buyer", "BTC") == (150_000_000, 0)
    metrics = emf_metrics(capsys.readouterr().out)
    assert metrics["TradesSettled"] == 1 and metrics["DuplicateTrades"] == 0


def test_a_batch_settles_in_one_call(funded: Funded) -> None:
    # Given the sample batch of two events / When the handler runs
    result = invoke(funded, event("settle/batch.json"))
    # Then both settled
    assert result["settled"] == ["BTC-USD:2", "BTC-USD:3"]
    with funded.conn:
        assert reconcile(funded.conn).ok


def test_the_same_event_delivered_twice_is_settled_once(
    funded: Funded, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the sample event delivered twice (EventBridge is at-least-once)
    first = invoke(funded, event("settle/trade_executed.json"))
    fees_after_first = funded.balance("fees", "USD")
    second = invoke(funded, event("settle/trade_executed.json"))
    # Then the second delivery changed nothing
    assert first["settled"] == ["BTC-USD:1"] and second == {
        "settled": [],
        "duplicates": ["BTC-USD:1"],
        "released_holds": [],
    }
    assert funded.balance("fees", "USD") == fees_after_first
    assert funded.scalar("SELECT count(*) FROM ledger_entries WHERE journal_id LIKE 'trade:%'") == 5
    assert emf_metrics(capsys.readouterr().out)["DuplicateTrades"] == 1


def test_a_lock_timeout_is_a_transient_error(funded: Funded, capsys: pytest.CaptureFixture[str]) -> None:
    # Given another transaction holding the buyer's hold row
    blocker = psycopg2.connect(funded.dsn)
    with blocker.cursor() as cur:
        cur.execute("SELECT 1 FROM holds WHERE order_id = 'ord-buy-1' FOR UPDATE")
    try:
        # When settle runs with a short lock timeout / Then it raises the retryable error
        with pytest.raises(TransientSettlementError):
            invoke(funded, event("settle/trade_executed.json"), lock_timeout="100ms")
    finally:
        blocker.rollback()
        blocker.close()
    # And nothing was applied; the metric counts the retry
    assert funded.scalar("SELECT count(*) FROM trades") == 0
    assert emf_metrics(capsys.readouterr().out)["SettlementRetries"] == 1


@pytest.mark.parametrize("sample", ["settle/malformed.json", "settle/overdraw.json"])
def test_bad_input_is_a_permanent_error_and_counted(
    funded: Funded, sample: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a malformed trade, or one that would overdraw an account with nothing held or available
    # When the handler runs / Then it raises the permanent error and counts the failure
    with pytest.raises(PermanentSettlementError):
        invoke(funded, event(sample))
    assert emf_metrics(capsys.readouterr().out)["SettlementFailures"] == 1
    assert funded.scalar("SELECT count(*) FROM trades") == 0


# -- through the state machine definition -------------------------------------------------------


@pytest.fixture
def dlq(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, str]:
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    sqs = boto3.client("sqs", endpoint_url=moto_endpoint, region_name="us-east-1")
    url = sqs.create_queue(QueueName=f"settlement-dlq-{threading.get_ident()}-{id(sqs)}")["QueueUrl"]
    return sqs, url


def machine(funded: Funded, dlq: tuple[Any, str], connect: Any = None) -> SettlementStateMachine:
    sqs, url = dlq
    app = load_function("settle")

    def run(payload: Any) -> Any:
        return app.handler(
            payload, Context(), connect=connect or funded.borrow, instruments=lambda: INSTRUMENTS
        )

    arn = "arn:aws:lambda:us-east-1:123456789012:function:settle"
    return SettlementStateMachine(run, {"SettleFunctionArn": arn, "SettlementDlqUrl": url}, sqs)


def test_a_transient_failure_is_retried_by_the_state_machine_and_settles_once(
    funded: Funded, dlq: tuple[Any, str]
) -> None:
    # Given a database that drops the connection on the first two attempts
    attempts: list[int] = []

    def flaky_connect() -> Any:
        attempts.append(1)
        if len(attempts) <= 2:
            raise psycopg2.OperationalError("server closed the connection unexpectedly")
        return funded.borrow()

    # When the state machine runs the sample event
    execution = machine(funded, dlq, flaky_connect).start(event("settle/trade_executed.json"))
    # Then the Settle task was retried on TransientSettlementError and succeeded on the third attempt
    assert execution.status == "SUCCEEDED"
    assert execution.path == ["Settle", "Settle", "Settle", "Settled"]
    assert execution.output["result"]["settlement"]["settled"] == ["BTC-USD:1"]
    # And the trade was settled exactly once, nothing in the DLQ
    assert funded.scalar("SELECT count(*) FROM trades") == 1
    sqs, url = dlq
    assert "Messages" not in sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0)


def test_a_backend_killed_mid_settlement_is_retried_on_a_fresh_pooled_connection(
    funded: Funded, dlq: tuple[Any, str]
) -> None:
    # Given the settle function on a one-connection pool, and the buyer's hold row locked elsewhere
    pool = ConnectionPool(
        lambda: psycopg2.connect(funded.dsn, application_name="settle-pool"), max_size=1, timeout_s=10
    )
    blocker = psycopg2.connect(funded.dsn)
    with blocker.cursor() as cur:
        cur.execute("SELECT 1 FROM holds WHERE order_id = 'ord-buy-1' FOR UPDATE")
    killed: list[int] = []

    def kill_the_waiting_settlement() -> None:
        admin = psycopg2.connect(funded.dsn)
        admin.autocommit = True
        with admin.cursor() as cur:
            deadline = time.monotonic() + 20
            while not killed and time.monotonic() < deadline:
                cur.execute(
                    "SELECT pg_terminate_backend(pid), pid FROM pg_stat_activity"
                    " WHERE application_name = 'settle-pool' AND wait_event_type = 'Lock'"
                )
                killed.extend(pid for _, pid in cur.fetchall())
                time.sleep(0.01)
        admin.close()
        blocker.rollback()

    killer = threading.Thread(target=kill_the_waiting_settlement)
    killer.start()
    # When the state machine runs the sample event and the settle's backend dies while it waits
    try:
        execution = machine(funded, dlq, pool.connection).start(event("settle/trade_executed.json"))
    finally:
        killer.join()
        blocker.close()
    # Then the lost connection was a transient error: retried, settled once on a new connection
    assert len(killed) == 1
    assert execution.path == ["Settle", "Settle", "Settled"]
    assert funded.scalar("SELECT count(*) FROM trades") == 1
    stats = pool.stats()
    assert (stats.discarded, stats.opened, stats.size, stats.in_use) == (1, 2, 1, 0)
    pool.close()


def test_a_permanent_failure_lands_in_the_dlq_with_nothing_half_applied(
    funded: Funded, dlq: tuple[Any, str], capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a batch whose first trade is fine and whose second would overdraw an account
    good, bad = event("settle/trade_executed.json"), event("settle/overdraw.json")
    batch = {"events": [good, bad]}
    # When the state machine runs it
    execution = machine(funded, dlq).start(batch)
    # Then it was not retried and the input is in the DLQ with the error
    assert execution.path == ["Settle", "SendToDeadLetterQueue", "DeadLettered"]
    sqs, url = dlq
    messages = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0)["Messages"]
    body = json.loads(messages[0]["Body"])
    assert body["error"]["Error"] == "PermanentSettlementError"
    assert body["events"] == [good, bad]
    # And the alarm metric was emitted, and not even the good trade was applied
    assert emf_metrics(capsys.readouterr().out)["SettlementFailures"] == 1
    assert funded.scalar("SELECT count(*) FROM trades") == 0
    assert funded.balance("acct-buyer", "BTC") == (100_000_000, 0)


def test_transient_failures_that_never_stop_end_in_the_dlq(funded: Funded, dlq: tuple[Any, str]) -> None:
    # Given a database that is never reachable
    def down() -> Any:
        raise psycopg2.OperationalError("could not connect to server")

    # When the state machine runs / Then it retries as often as the definition says, then parks it
    execution = machine(funded, dlq, down).start(event("settle/trade_executed.json"))
    retrier = next(
        r
        for r in machine(funded, dlq).asl["States"]["Settle"]["Retry"]
        if "TransientSettlementError" in r["ErrorEquals"]
    )
    assert execution.path.count("Settle") == 1 + retrier["MaxAttempts"]
    assert execution.path[-2:] == ["SendToDeadLetterQueue", "DeadLettered"]


class MachineAsStepFunctions:
    """The Step Functions API surface the re-drive tool uses, backed by the ASL executor."""

    def __init__(self, state_machine: SettlementStateMachine) -> None:
        self.state_machine = state_machine
        self.executions: list[Any] = []

    def start_execution(self, stateMachineArn: str, name: str, input: str) -> dict[str, str]:  # noqa: N803
        self.executions.append(self.state_machine.start(json.loads(input)))
        return {"executionArn": f"{stateMachineArn}:{name}"}


def test_a_parked_trade_is_redriven_after_the_cause_is_fixed(funded: Funded, dlq: tuple[Any, str]) -> None:
    # Given a trade parked in the DLQ because its buyer had no funds
    state_machine = machine(funded, dlq)
    assert state_machine.start(event("settle/overdraw.json")).path[-1] == "DeadLettered"
    # When the buyer is funded and holds for the order, and the DLQ is re-driven
    with funded.conn:
        post_transfer(funded.conn, "fix-1", "acct-empty", "USD", "DEPOSIT", 20_000_000_000)
    funded.hold("ord-buy-4", "acct-empty", "USD", 15_030_000_000)
    sqs, url = dlq
    sfn = MachineAsStepFunctions(state_machine)
    result = redrive(sqs, sfn, url, "arn:aws:states:us-east-1:123456789012:stateMachine:settlement")
    # Then the original input ran again, without the error, settled, and left the DLQ
    assert len(result.started) == 1 and result.skipped == []
    [execution] = sfn.executions
    assert execution.status == "SUCCEEDED" and execution.path == ["Settle", "Settled"]
    assert funded.scalar("SELECT count(*) FROM trades WHERE taker_order_id = 'ord-buy-4'") == 1
    assert "Messages" not in sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0)
