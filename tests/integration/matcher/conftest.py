"""Fixtures of the matcher integration tests (helpers live in ``matcher_cloud``)."""

from __future__ import annotations

import pytest
from matcher_cloud import MatcherCloud


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

    def make(**overrides: str) -> Matcher:
        env = {k.lower(): v for k, v in cloud.env(**overrides).items()}
        settings = MatcherSettings(**env)
        kwargs = {"endpoint_url": cloud.endpoint, "region_name": "us-east-1"}
        store = BookStore(
            boto3.client("dynamodb", **kwargs),
            settings.orders_table,
            settings.order_books_table,
            settings.instruments_table,
        )
        publisher = EventPublisher(boto3.client("events", **kwargs), settings.event_bus_name)
        return Matcher(settings, store, publisher, boto3.client("sqs", **kwargs), Metrics())

    return make
