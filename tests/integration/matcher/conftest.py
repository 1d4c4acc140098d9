"""Fixtures of the matcher integration tests (helpers live in ``matcher_cloud``)."""

from __future__ import annotations

import threading

import pytest
from matcher_cloud import MatcherCloud

_DYNAMODB_LOCK = threading.RLock()


@pytest.fixture(autouse=True)
def serialized_dynamodb(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pinned moto gap: its DynamoDB backend is not thread-safe. TransactWriteItems deep-copies a
    table while another request thread mutates it ("dictionary changed size during iteration",
    HTTP 500), which real DynamoDB never does. Serializing DynamoDB requests in the test's moto
    server restores the isolation the matcher relies on (the local runtime needs the same patch)."""
    from moto.dynamodb.responses import DynamoHandler

    original = DynamoHandler.call_action

    def call_action(self: DynamoHandler):  # type: ignore[no-untyped-def]
        with _DYNAMODB_LOCK:
            return original(self)

    monkeypatch.setattr(DynamoHandler, "call_action", call_action)


@pytest.fixture
def cloud(moto_endpoint: str) -> MatcherCloud:
    c = MatcherCloud(moto_endpoint)
    c.seed_instruments()
    return c


@pytest.fixture
def make_matcher(cloud: MatcherCloud):
    """An in-process ``Matcher`` wired exactly like ``main.build`` but with explicit endpoints."""
    import boto3
    from matcher_service.config import MatcherSettings
    from matcher_service.metrics import Metrics
    from matcher_service.publisher import EventPublisher
    from matcher_service.service import Matcher
    from matcher_service.store import BookStore

    def make(transact_limit: int = 100, **overrides: str) -> Matcher:
        env = {k.lower(): v for k, v in cloud.env(**overrides).items()}
        settings = MatcherSettings(**env)
        kwargs = {"endpoint_url": cloud.endpoint, "region_name": "us-east-1"}
        store = BookStore(
            boto3.client("dynamodb", **kwargs),
            settings.orders_table,
            settings.order_books_table,
            settings.instruments_table,
            transact_limit=transact_limit,
        )
        publisher = EventPublisher(boto3.client("events", **kwargs), settings.event_bus_name)
        return Matcher(settings, store, publisher, boto3.client("sqs", **kwargs), Metrics())

    return make


@pytest.fixture
def fault_cloud(moto_endpoint: str) -> MatcherCloud:
    """A short visibility timeout, so a crashed matcher's messages come back within the test."""
    c = MatcherCloud(moto_endpoint, visibility_timeout=2)
    c.seed_instruments()
    return c


@pytest.fixture
def processes():
    """Matcher subprocesses a test started; any still alive at the end are killed."""
    started: list = []
    yield started
    for proc in started:
        if proc.popen.poll() is None:
            proc.popen.kill()
            proc.popen.wait()
