"""Fixtures of the realtime functional tests: the handlers run in-process against a real moto
server (tables built from ``template.yaml``) and a real HTTP ``@connections`` endpoint on loopback.
"""

from __future__ import annotations

import importlib.util
import json
import os
import threading
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from localcloud.template import create_table_request, load_template

REPO = Path(__file__).resolve().parents[3]
TABLES = {
    "CONNECTIONS_TABLE": "ConnectionsTable",
    "ORDER_BOOKS_TABLE": "OrderBooksTable",
    "INSTRUMENTS_TABLE": "InstrumentsTable",
    "API_KEYS_TABLE": "ApiKeysTable",
}


def table_properties(logical_id: str) -> dict[str, Any]:
    """One table's properties in ``template.yaml`` (keys, GSIs, stream, TTL)."""
    properties: dict[str, Any] = load_template(REPO / "template.yaml")["Resources"][logical_id]["Properties"]
    return properties


AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "POWERTOOLS_METRICS_NAMESPACE": "Trading",
    "POWERTOOLS_SERVICE_NAME": "realtime-tests",
}


@dataclass
class Tables:
    names: dict[str, str]  # env var -> physical name
    client: Any

    def name(self, env: str) -> str:
        return self.names[env]


@pytest.fixture(scope="session")
def realtime_tables(moto_endpoint: str) -> Tables:
    """Uniquely named tables in the worker's moto server, created once per worker session.

    Tests share them and stay apart through unique connection ids.
    """
    client = boto3.client(
        "dynamodb",
        endpoint_url=moto_endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    suffix = uuid.uuid4().hex[:8]
    names = {}
    for env, logical_id in TABLES.items():
        name = f"{logical_id}-{suffix}"
        props = table_properties(logical_id)
        client.create_table(**create_table_request(name, props))
        if ttl := props.get("TimeToLiveSpecification"):
            client.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)
        names[env] = name
    return Tables(names, client)


@pytest.fixture
def tables(realtime_tables: Tables, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Tables:
    """The shared tables, with the environment pointing the code at them for this test."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    for key, value in {**AWS_ENV, **realtime_tables.names}.items():
        monkeypatch.setenv(key, value)
    _reset_shared_clients()
    return realtime_tables


def _reset_shared_clients() -> None:
    try:
        from trading.adapters import aws
    except ImportError:  # pragma: no cover - the adapters package is optional here
        return
    aws.reset()


# -- a real @connections endpoint -------------------------------------------------------------------


@dataclass
class ConnectionsEndpoint:
    url: str
    received: dict[str, list[Any]] = field(default_factory=lambda: defaultdict(list))
    posts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    gone: set[str] = field(default_factory=set)
    failing: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def messages(self, connection_id: str) -> list[dict[str, Any]]:
        """Every message delivered to the connection, arrays (batched frames) flattened."""
        with self.lock:
            frames = list(self.received[connection_id])
        out: list[dict[str, Any]] = []
        for frame in frames:
            out.extend(frame if isinstance(frame, list) else [frame])
        return out


def _handler_class(state: ConnectionsEndpoint) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _reply(self, status: int, error_type: str | None = None) -> None:
            body = json.dumps({"message": error_type or "ok"}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            if error_type:
                self.send_header("x-amzn-ErrorType", error_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            prefix, _, connection_id = self.path.rpartition("/@connections/")
            length = int(self.headers.get("Content-Length", "0"))
            data = self.rfile.read(length)
            if prefix not in ("", "/ws"):
                self._reply(404, "NotFoundException")
            elif connection_id in state.gone:
                self._reply(410, "GoneException")
            elif connection_id in state.failing:
                self._reply(400, "LimitExceededException")
            else:
                with state.lock:
                    state.received[connection_id].append(json.loads(data))
                    state.posts[connection_id] += 1
                self._reply(200)

    return Handler


@pytest.fixture(scope="session")
def realtime_endpoint() -> Iterator[ConnectionsEndpoint]:
    state = ConnectionsEndpoint(url="")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_class(state))
    state.url = f"http://127.0.0.1:{server.server_address[1]}/ws"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def connections_endpoint(
    realtime_endpoint: ConnectionsEndpoint, monkeypatch: pytest.MonkeyPatch
) -> ConnectionsEndpoint:
    """A real loopback ``@connections`` endpoint (POST /ws/@connections/{id}); 410 for ``gone``."""
    with realtime_endpoint.lock:
        realtime_endpoint.received.clear()
        realtime_endpoint.posts.clear()
        realtime_endpoint.gone.clear()
        realtime_endpoint.failing.clear()
    monkeypatch.setenv("WS_MANAGEMENT_ENDPOINT", realtime_endpoint.url)
    return realtime_endpoint


# -- handlers ---------------------------------------------------------------------------------------


@dataclass
class FakeLambdaContext:
    function_name: str = "test"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:test"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def load_handler(function: str) -> ModuleType:
    """Import ``functions/<function>/app.py`` under a unique module name."""
    path = REPO / "functions" / function / "app.py"
    spec = importlib.util.spec_from_file_location(f"fn_{function}_{uuid.uuid4().hex[:6]}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def realtime_handlers() -> dict[str, ModuleType]:
    """The four handler modules, loaded once per worker; their cached ports (clients) are reused
    because every test points them at the same tables and endpoint."""
    with pytest.MonkeyPatch.context() as patch:  # Powertools reads these when a module is loaded
        for key, value in AWS_ENV.items():
            patch.setenv(key, value)
        return {name: load_handler(name) for name in ("ws_connect", "ws_disconnect", "ws_messages", "notify")}


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()


@pytest.fixture
def ws_env(
    tables: Tables, connections_endpoint: ConnectionsEndpoint
) -> Iterator[tuple[Tables, ConnectionsEndpoint]]:
    assert os.environ["WS_MANAGEMENT_ENDPOINT"] == connections_endpoint.url
    yield tables, connections_endpoint
