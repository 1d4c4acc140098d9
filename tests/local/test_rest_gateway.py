"""The REST API as API Gateway serves it: routes, proxy events, authorizer, usage-plan throttling."""

from __future__ import annotations

import uuid

import httpx
import pytest
from localcloud.runtime import LocalRuntime

pytestmark = pytest.mark.xdist_group("localcloud")


def _get(runtime: LocalRuntime, path: str, key: str | None = None, **params: str) -> httpx.Response:
    headers = {"X-API-Key": key} if key else {}
    return httpx.get(f"{runtime.urls.rest}{path}", headers=headers, params=params, timeout=10)


def test_a_route_missing_from_the_template_answers_403_like_api_gateway(demo_runtime):
    # Given a path and a method the template does not declare
    # When they are requested
    unknown_path = _get(demo_runtime, "/v1/nowhere")
    wrong_method = httpx.post(f"{demo_runtime.urls.rest}/v1/public", timeout=10)
    # Then both get API Gateway's answer for a missing route
    assert unknown_path.status_code == 403
    assert unknown_path.json() == {"message": "Missing Authentication Token"}
    assert wrong_method.status_code == 403
    assert wrong_method.json() == {"message": "Missing Authentication Token"}


def test_a_public_route_gets_a_proxy_event_with_stage_query_and_function_env(demo_runtime):
    # Given the public route (Auth: NONE)
    # When it is called with a repeated query parameter
    response = httpx.get(f"{demo_runtime.urls.rest}/v1/public?tag=a&tag=b&one=1", timeout=10)
    # Then the real handler saw an API Gateway REST proxy event and ran with its own environment
    assert response.status_code == 200
    assert response.headers["X-Echo"] == "yes"
    seen = response.json()
    assert seen["resource"] == "/v1/public"
    assert seen["stage"] == "test"
    assert seen["query"] == {"tag": "b", "one": "1"}
    assert seen["multi_query"] == {"tag": ["a", "b"], "one": ["1"]}
    assert seen["source_ip"] == "127.0.0.1"
    assert seen["greeting"] == "hello"
    assert seen["function_name"] == demo_runtime.functions["EchoFunction"].name
    assert 0 < seen["remaining_ms"] <= 10_000
    assert seen["authorizer"] is None


def test_the_authorizer_context_and_path_parameters_reach_the_handler(demo_runtime):
    # Given an identity the authorizer allows
    key = f"allow-{uuid.uuid4().hex}"
    # When a guarded route with a path parameter is called
    response = _get(demo_runtime, "/v1/echo/alice", key)
    # Then the handler got the path parameter and the authorizer's context and principal
    assert response.status_code == 200
    seen = response.json()
    assert seen["resource"] == "/v1/echo/{name}"
    assert seen["path_parameters"] == {"name": "alice"}
    assert seen["authorizer"] == {"key": key, "principalId": f"user-{key}"}


def test_missing_identity_is_401_without_calling_the_authorizer(demo_runtime):
    # Given the authorizer's invocation count
    before = demo_runtime.runner.invocations.get("AuthorizerFunction", 0)
    # When the guarded route is called without the identity header
    response = _get(demo_runtime, "/v1/echo/alice")
    # Then API Gateway's 401 comes back and the authorizer never ran
    assert response.status_code == 401
    assert response.json() == {"message": "Unauthorized"}
    assert demo_runtime.runner.invocations.get("AuthorizerFunction", 0) == before


def test_unauthorized_is_401_and_an_explicit_deny_is_403(demo_runtime):
    # Given identities the authorizer rejects ("bad") and denies ("deny-...")
    # When they call the guarded route
    rejected = _get(demo_runtime, "/v1/echo/alice", "bad")
    denied = _get(demo_runtime, "/v1/echo/alice", f"deny-{uuid.uuid4().hex}")
    # Then the answers are API Gateway's
    assert rejected.status_code == 401
    assert denied.status_code == 403
    assert denied.json() == {
        "message": "User is not authorized to access this resource with an explicit deny"
    }


def test_authorizer_results_are_cached_per_identity_for_the_ttl(demo_runtime):
    # Given a new identity
    key = f"allow-{uuid.uuid4().hex}"
    before = demo_runtime.runner.invocations.get("AuthorizerFunction", 0)
    # When it calls twice within the template's ReauthorizeEvery (60 s)
    first = _get(demo_runtime, "/v1/echo/a", key)
    second = _get(demo_runtime, "/v1/echo/b", key)
    # Then the authorizer ran once
    assert (first.status_code, second.status_code) == (200, 200)
    assert demo_runtime.runner.invocations["AuthorizerFunction"] == before + 1


def test_a_throttled_key_gets_429_with_retry_after(demo_runtime):
    # Given the template's usage plan (rate 1/s, burst 2) and a fresh API key
    key = f"allow-{uuid.uuid4().hex}"
    # When the key sends more requests than the burst at once
    responses = [_get(demo_runtime, "/v1/echo/x", key) for _ in range(6)]
    # Then the first ones pass and the excess is throttled with a Retry-After hint
    statuses = [r.status_code for r in responses]
    assert statuses[:2] == [200, 200]
    throttled = [r for r in responses if r.status_code == 429]
    assert throttled, statuses
    assert throttled[0].json() == {"message": "Too Many Requests"}
    assert int(throttled[0].headers["Retry-After"]) >= 1
    # And another key is not affected
    assert _get(demo_runtime, "/v1/echo/x", f"allow-{uuid.uuid4().hex}").status_code == 200


def test_a_cached_policy_is_checked_against_each_request(demo_runtime):
    # Given an identity whose policy allows only the first method ARN it was issued for
    key = f"narrow-{uuid.uuid4().hex}"
    # When the same identity calls the issued path, then another one (served from the cache)
    first = _get(demo_runtime, "/v1/echo/a", key)
    other = _get(demo_runtime, "/v1/echo/b", key)
    # Then, as in API Gateway, the cached policy does not cover the second path
    assert first.status_code == 200
    assert other.status_code == 403


def test_the_web_directory_is_served_where_no_route_claims_the_path(demo_runtime):
    # Given web/index.html beside the template
    # When the root and the file are requested
    root = httpx.get(f"{demo_runtime.urls.ui}", timeout=10)
    page = httpx.get(f"{demo_runtime.urls.rest}/index.html", timeout=10)
    escape = httpx.get(f"{demo_runtime.urls.rest}/../template.yaml", timeout=10)
    # Then the page is served, and nothing outside web/ is
    assert root.status_code == 200
    assert "served from web/" in root.text
    assert page.text == root.text
    assert escape.status_code == 403


def test_an_aws_style_url_with_the_stage_reaches_the_same_route(demo_runtime):
    # Given the invoke URL form https://<api>.execute-api.<region>.amazonaws.com/<stage>/...
    # When the public route is called under the stage "test"
    response = httpx.get(f"{demo_runtime.urls.rest}/test/v1/public", timeout=10)
    # Then it is the same route, and the event's path is the resource path
    assert response.status_code == 200
    assert response.json()["path"] == "/v1/public"


def test_a_key_over_its_plan_quota_gets_quota_exceeded(demo_runtime):
    # Given a key on the template's QuotaPlan (3 requests a day)
    key = f"allow-{uuid.uuid4().hex}"
    demo_runtime.rest.key_plans[key] = "QuotaPlan"
    # When it makes five calls
    statuses = [_get(demo_runtime, "/v1/echo/q", key).status_code for _ in range(5)]
    # Then the quota runs out after three
    assert statuses == [200, 200, 200, 429, 429]
