"""Support for the settlement functional tests: handler loading, a Lambda context, a funded world,
and a tiny executor of the settlement state machine's own ASL (Task/Retry/Catch/sqs:sendMessage).
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import psycopg2
from trading.adapters.database import lend
from trading.ledger import post_transfer

ROOT = Path(__file__).resolve().parents[3]
EVENTS = ROOT / "events"


def load_function(name: str) -> ModuleType:
    """Import ``functions/<name>/app.py`` afresh under a unique module name (like the runtime)."""
    path = ROOT / "functions" / name / "app.py"
    # Powertools loggers are process-global per service name and keep the stream they were first
    # given; a fresh name per load keeps each test's captured stdout its own.
    os.environ["POWERTOOLS_SERVICE_NAME"] = f"{name}-{uuid.uuid4().hex[:8]}"
    spec = importlib.util.spec_from_file_location(f"fn_{name}_{uuid.uuid4().hex[:8]}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def event(path: str) -> Any:
    return json.loads((EVENTS / path).read_text())


@dataclass
class Context:
    function_name: str = "settle"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:settle"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


class Funded:
    """Accounts, deposits and order holds as admin and order intake would create them."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.conn = psycopg2.connect(dsn)

    def connect(self, **options: str) -> Any:
        extra = " ".join(f"-c {k}={v}" for k, v in options.items())
        return psycopg2.connect(self.dsn, options=extra) if extra else psycopg2.connect(self.dsn)

    @contextlib.contextmanager
    def borrow(self, **options: str) -> Iterator[Any]:
        """What a handler's ``connect`` gives: a connection for one unit of work, then closed."""
        conn = self.connect(**options)
        try:
            with lend(conn):
                yield conn
        finally:
            conn.close()

    def account(self, account_id: str, **deposits: int) -> None:
        with self.conn, self.conn.cursor() as cur:
            cur.execute("INSERT INTO accounts (account_id) VALUES (%s)", (account_id,))
        for asset, amount in deposits.items():
            with self.conn:
                post_transfer(self.conn, f"dep-{account_id}-{asset}", account_id, asset, "DEPOSIT", amount)

    def hold(self, order_id: str, account_id: str, asset: str, amount: int) -> None:
        with self.conn, self.conn.cursor() as cur:
            cur.execute(
                "UPDATE balances SET available = available - %s, held = held + %s"
                " WHERE account_id = %s AND asset = %s AND available >= %s",
                (amount, amount, account_id, asset, amount),
            )
            assert cur.rowcount == 1
            cur.execute(
                "INSERT INTO holds (order_id, account_id, asset, symbol, amount, remaining)"
                " VALUES (%s, %s, %s, 'BTC-USD', %s, %s)",
                (order_id, account_id, asset, amount, amount),
            )

    def scalar(self, sql: str, params: tuple[Any, ...] | None = None) -> Any:
        with self.conn, self.conn.cursor() as cur:
            cur.execute(sql, params)
            row = cur.fetchone()
        return row[0] if row else None

    def balance(self, account_id: str, asset: str) -> tuple[int, int]:
        with self.conn, self.conn.cursor() as cur:
            cur.execute(
                "SELECT available, held FROM balances WHERE account_id = %s AND asset = %s",
                (account_id, asset),
            )
            row = cur.fetchone()
        return (int(row[0]), int(row[1])) if row else (0, 0)


def emf_metrics(stdout: str) -> dict[str, float]:
    """Sum the values of every EMF metric printed by Powertools Metrics."""
    totals: dict[str, float] = {}
    for line in stdout.splitlines():
        if not line.startswith("{") or "_aws" not in line:
            continue
        blob = json.loads(line)
        for directive in blob["_aws"]["CloudWatchMetrics"]:
            for metric in directive["Metrics"]:
                value = blob[metric["Name"]]
                values = value if isinstance(value, list) else [value]
                totals[metric["Name"]] = totals.get(metric["Name"], 0) + sum(values)
    return totals


@dataclass
class Execution:
    status: str  # SUCCEEDED or FAILED
    path: list[str]  # states entered, one entry per attempt of a Task
    output: Any = None


class SettlementStateMachine:
    """Runs ``statemachines/settlement.asl.json`` against in-process functions and real SQS.

    Supports what the definition uses: Task states (``lambda:invoke`` with ``Payload.$: $``,
    ``sqs:sendMessage``), Retry by error name (no waiting), Catch with ``ResultPath``, Pass and
    Succeed. Error names are the Python exception class names, as Lambda reports them.
    """

    def __init__(
        self,
        invoke: Callable[[Any], Any],
        substitutions: Mapping[str, str],
        sqs: Any,
        definition: Path = ROOT / "statemachines" / "settlement.asl.json",
    ) -> None:
        text = definition.read_text()
        for key, value in substitutions.items():
            text = text.replace("${" + key + "}", value)
        self.asl = json.loads(text)
        self.invoke = invoke
        self.sqs = sqs

    def start(self, payload: Any) -> Execution:
        state_name, data, path = self.asl["StartAt"], payload, []
        while True:
            state = self.asl["States"][state_name]
            path.append(state_name)
            kind = state["Type"]
            if kind == "Succeed":
                return Execution("SUCCEEDED", path, data)
            if kind == "Pass":
                if state.get("End"):
                    return Execution("SUCCEEDED", path, data)
                state_name = state["Next"]
                continue
            if kind != "Task":
                raise NotImplementedError(kind)
            try:
                result = self._task(state, data, path, state_name)
            except _TaskFailedError as failed:
                catcher = _match(state.get("Catch", []), failed.name)
                if catcher is None:
                    return Execution("FAILED", path, {"Error": failed.name, "Cause": failed.cause})
                data = _put(
                    data, catcher.get("ResultPath", "$"), {"Error": failed.name, "Cause": failed.cause}
                )
                state_name = catcher["Next"]
                continue
            data = _put(data, state.get("ResultPath", "$"), result)
            if state.get("End"):
                return Execution("SUCCEEDED", path, data)
            state_name = state["Next"]

    def _task(self, state: Mapping[str, Any], data: Any, path: list[str], name: str) -> Any:
        attempts: dict[int, int] = {}
        while True:
            try:
                return self._call(state, data)
            except _TaskFailedError as failed:
                retrier = _match(state.get("Retry", []), failed.name)
                if retrier is None:
                    raise
                index = state["Retry"].index(retrier)
                attempts[index] = attempts.get(index, 0) + 1
                if attempts[index] > retrier.get("MaxAttempts", 3):
                    raise
                path.append(name)

    def _call(self, state: Mapping[str, Any], data: Any) -> Any:
        resource, params = state["Resource"], state.get("Parameters", {})
        if resource == "arn:aws:states:::lambda:invoke":
            assert params.get("Payload.$") == "$"
            try:
                payload = self.invoke(data)
            except Exception as exc:
                raise _TaskFailedError(type(exc).__name__, str(exc)) from exc
            result = {"Payload": payload}
            selector = state.get("ResultSelector")
            if selector:
                result = {k[:-2]: payload for k, v in selector.items() if v == "$.Payload"}
            return result
        if resource == "arn:aws:states:::sqs:sendMessage":
            assert params.get("MessageBody.$") == "$"
            return self.sqs.send_message(QueueUrl=params["QueueUrl"], MessageBody=json.dumps(data))
        raise NotImplementedError(resource)


class _TaskFailedError(Exception):
    def __init__(self, name: str, cause: str) -> None:
        super().__init__(name)
        self.name, self.cause = name, cause


def _match(rules: list[Mapping[str, Any]], error: str) -> Mapping[str, Any] | None:
    for rule in rules:
        names = rule["ErrorEquals"]
        if error in names or "States.ALL" in names:
            return rule
    return None


def _put(data: Any, result_path: str | None, value: Any) -> Any:
    if result_path is None:
        return data
    if result_path == "$":
        return value
    assert result_path.startswith("$.") and "." not in result_path[2:]
    return {**data, result_path[2:]: value} if isinstance(data, dict) else {result_path[2:]: value}
