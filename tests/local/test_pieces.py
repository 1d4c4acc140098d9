"""Small pieces of the runtime: per-thread env, token buckets, the template model, intrinsics."""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from localcloud import template
from localcloud.app_model import (
    AppModel,
    RestRoute,
    Throttle,
    cron_matches,
    referenced_ids,
    schedule_period_s,
)
from localcloud.envoverlay import function_env
from localcloud.resolve import Resolver
from localcloud.throttle import TokenBucket

REPO = Path(__file__).resolve().parents[2]


def test_function_env_is_visible_only_to_its_thread():
    # Given two threads running "functions" with different values of one variable
    seen = {}
    ready = threading.Barrier(2)

    def run(name):
        with function_env({"LOCALCLOUD_TEST_VAR": name}):
            ready.wait(5)
            seen[name] = (os.environ["LOCALCLOUD_TEST_VAR"], os.getenv("LOCALCLOUD_TEST_VAR"))
            ready.wait(5)

    threads = [threading.Thread(target=run, args=(n,)) for n in ("a", "b")]
    # When both run at the same time
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    # Then each saw its own value and the process environment never had it
    assert seen == {"a": ("a", "a"), "b": ("b", "b")}
    assert "LOCALCLOUD_TEST_VAR" not in os.environ


def test_function_env_shows_in_iteration_and_copies():
    with function_env({"LOCALCLOUD_TEST_VAR": "x"}):
        assert dict(os.environ)["LOCALCLOUD_TEST_VAR"] == "x"
        assert os.environ.copy()["LOCALCLOUD_TEST_VAR"] == "x"
        assert "LOCALCLOUD_TEST_VAR" in os.environ
    assert "LOCALCLOUD_TEST_VAR" not in dict(os.environ)


def test_a_token_bucket_allows_the_burst_then_refills_at_the_rate():
    # Given a bucket of burst 2 and 1 token per second on a fake clock
    now = [100.0]
    bucket = TokenBucket(Throttle(rate=1.0, burst=2), clock=lambda: now[0])
    # When three requests arrive at once
    waits = [bucket.take() for _ in range(3)]
    # Then the third waits one second
    assert waits[:2] == [0.0, 0.0]
    assert waits[2] == pytest.approx(1.0)
    # And half a second later it still waits, a full second later it passes
    now[0] += 0.5
    assert bucket.take() == pytest.approx(0.5)
    now[0] += 0.5
    assert bucket.take() == 0.0


def test_routes_match_literal_segments_and_path_parameters():
    route = RestRoute(
        path="/v1/orders/{order_id}", method="GET", function_id="F", authorizer=None, api_key_required=False
    )
    assert route.match("GET", "/v1/orders/abc") == {"order_id": "abc"}
    assert route.match("DELETE", "/v1/orders/abc") is None
    assert route.match("GET", "/v1/orders") is None
    assert route.match("GET", "/v1/orders/abc/extra") is None


def test_referenced_ids_follow_sub_variables_and_getatt():
    expression = {
        "Fn::Sub": ["x/${__FunctionArn__}/${AWS::Region}", {"__FunctionArn__": {"Fn::GetAtt": ["Fn", "Arn"]}}]
    }
    assert list(referenced_ids(expression)) == ["Fn", "AWS::Region"]
    assert list(referenced_ids({"Fn::Sub": "integrations/${WsIntegration}"})) == ["WsIntegration"]


def test_schedule_periods():
    assert schedule_period_s("rate(5 minutes)") == 300
    assert schedule_period_s("rate(1 hour)") == 3600
    assert schedule_period_s("cron(15 0 * * ? *)") is None


def test_the_resolver_follows_refs_subs_and_joins():
    resolver = Resolver({"Queue": "https://q"}, {"Port": "8080"}, {"AWS::StackName": "trading"})
    assert resolver.resolve({"Ref": "Queue"}) == "https://q"
    assert resolver.resolve({"Ref": "Port"}) == "8080"
    assert resolver.resolve({"Fn::Sub": "${AWS::StackName}-trading"}) == "trading-trading"
    assert resolver.resolve({"Fn::Join": ["-", ["a", {"Ref": "Port"}]]}) == "a-8080"
    assert resolver.resolve({"Fn::GetAtt": ["Queue", "Arn"]}) is None
    assert resolver.resolve({"Ref": "Missing"}) is None


def test_the_real_template_declares_what_the_runtime_serves():
    # Given template.yaml translated offline
    model = AppModel.from_template(template.translate_template(REPO / "template.yaml"))
    # Then the runtime finds the REST routes with their authorizer and usage plans ...
    (api,) = model.rest_apis
    routes = {(r.method, r.path): r for r in api.routes}
    assert routes["GET", "/v1/instruments"].function_id == "MarketDataFunction"
    assert routes["GET", "/v1/instruments"].authorizer is None
    assert routes["POST", "/v1/orders"].authorizer == "SignedRequestAuthorizer"
    authorizer = api.authorizers["SignedRequestAuthorizer"]
    assert authorizer.function_id == "AuthorizerFunction"
    assert set(authorizer.identity_headers) == {"X-API-Key", "X-Timestamp", "X-Content-SHA256", "X-Signature"}
    assert api.stage == "dev"
    assert all(plan.throttle is not None for plan in api.usage_plans)
    # ... the WebSocket routes, and the event sources
    assert model.ws_routes["$connect"] == "WsConnectFunction"
    assert model.ws_routes["subscribe"] == "WsMessagesFunction"
    assert [(q.function_id, q.queue_id) for q in model.queue_sources] == [
        ("NotifyFunction", "NotificationsQueue")
    ]
    assert [(s.function_id, s.table_id) for s in model.stream_sources] == [
        ("OrderArchiverFunction", "OrdersTable")
    ]
    assert {f for s in model.schedules for f in s.function_ids} >= {
        "HoldSweeperFunction",
        "ReconcileFunction",
    }


def test_cron_expressions_match_their_utc_minutes():
    daily = "cron(15 0 * * ? *)"  # the trade export: 00:15 UTC every day
    assert cron_matches(daily, datetime(2026, 11, 25, 0, 15, tzinfo=UTC)) is True
    assert cron_matches(daily, datetime(2026, 11, 25, 0, 16, tzinfo=UTC)) is False
    weekdays = "cron(0/30 9-17 ? * MON-FRI *)"
    assert cron_matches(weekdays, datetime(2026, 11, 25, 9, 30, tzinfo=UTC)) is True  # a Wednesday
    assert cron_matches(weekdays, datetime(2026, 11, 29, 9, 30, tzinfo=UTC)) is False  # a Sunday
    assert cron_matches(weekdays, datetime(2026, 11, 25, 9, 45, tzinfo=UTC)) is False
    assert cron_matches("cron(0 12 L * ? *)", datetime(2026, 11, 30, 12, 0, tzinfo=UTC)) is None
    assert cron_matches("rate(5 minutes)", datetime(2026, 11, 30, 12, 0, tzinfo=UTC)) is None
