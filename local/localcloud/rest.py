"""The REST API: API Gateway REST proxy events from the template's routes, authorizer, throttling.

Behaviour copied from API Gateway (REST, Lambda proxy integration):
* a method/path the template does not declare answers ``403 {"message":"Missing Authentication Token"}``
  (or the template's ``MISSING_AUTHENTICATION_TOKEN`` gateway response; so does a path with a NUL);
* a REQUEST authorizer gets the request's headers/query/path; a missing identity source answers
  401 without calling it; ``raise Exception("Unauthorized")`` answers 401, a Deny policy 403, an
  error 500; results are cached keyed on the identity-source values only (headers, query
  parameters, stage variables, ``context.*`` variables) for the authorizer's TTL
  (``authorizerResultTtlInSeconds``; 0 = no cache) and checked against each request's method ARN;
  the authorizer ``context`` reaches the handler as ``requestContext.authorizer``;
* usage-plan throttling of methods that require an API key: a token bucket per ``X-API-Key`` value
  with the plan's rate/burst and per-method overrides, applied before the authorizer (API Gateway
  applies it after); 429 ``{"message":"Too Many Requests"}`` with ``Retry-After`` (API Gateway
  itself sends no Retry-After; the runtime adds it for clients' convenience); a method that
  requires a key and gets none answers 403 after the authorizer; the plan's quota (per UTC day,
  week or month) answers 429 ``QUOTA_EXCEEDED`` once used up;
* a handler error or a malformed proxy result answers ``502 {"message": "Internal server error"}``.
The API is served at the root (``/v1/...``) like ``sam local start-api``, and also under the stage
(``/<stage>/v1/...``) like an AWS invoke URL; ``path`` is the resource path either way. Static
files under ``web/`` are served for paths no route claims, and ``/config.json`` answers
``web_config`` (the web UI reads its WebSocket URL there) when one is given.
"""

from __future__ import annotations

import base64
import fnmatch
import json
import logging
import math
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from localcloud.app_model import Authorizer, RestApi, RestRoute, UsagePlan
from localcloud.lambdas import FunctionError, LambdaRunner
from localcloud.throttle import Throttler

_log = logging.getLogger(__name__)

API_KEY_HEADER = "x-api-key"


@dataclass
class _CachedPolicy:
    expires: float
    principal_id: str | None
    statements: list[dict[str, Any]]
    context: dict[str, Any]


class RestGateway:
    def __init__(
        self,
        api: RestApi,
        runner: LambdaRunner,
        api_id: str,
        *,
        region: str = "us-east-1",
        account_id: str = "123456789012",
        web_dir: Path | None = None,
        web_config: Mapping[str, Any] | None = None,
    ) -> None:
        self.api = api
        self.runner = runner
        self.api_id = api_id
        self.region = region
        self.account_id = account_id
        self.web_dir = web_dir.resolve() if web_dir is not None and web_dir.is_dir() else None
        self.web_config = dict(web_config) if web_config is not None else None
        self.throttler = Throttler()
        # API Gateway ties an API key to one usage plan; keys registered locally (seeding, tests)
        # name their plan here, any other key gets the template's first plan.
        self.key_plans: dict[str, str] = {}
        self._quota_used: dict[tuple[str, str, int, int], int] = {}
        self._auth_cache: dict[tuple[str, tuple[str, ...]], _CachedPolicy] = {}
        self._auth_lock = threading.Lock()

    def app(self) -> Starlette:
        methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
        return Starlette(routes=[Route("/{path:path}", self.handle, methods=methods)])

    # -- request handling ------------------------------------------------------------------------
    async def handle(self, request: Request) -> Response:
        # The decoded path as the server received it; request.url.path re-parses it as a URL, so a
        # decoded "%23" or "%3F" would cut it short at a "fragment" or "query".
        path = str(request.scope["path"])
        method = request.method
        matched = self._match(method, path)
        if matched is None and path.startswith(f"/{self.api.stage}/"):
            # AWS-style URLs carry the stage (https://<api>.execute-api.../<stage>/v1/...)
            path = path.removeprefix(f"/{self.api.stage}")
            matched = self._match(method, path)
        if matched is None:
            static = self._static(method, path)
            if static is not None:
                return static
            return self.gateway_response("MISSING_AUTHENTICATION_TOKEN", 403, "Missing Authentication Token")
        route, path_params = matched
        body = await request.body()
        event = self._event(request, route, path, path_params, body)
        limited = self._usage_plan_limit(event, route)
        if limited is not None:
            return limited
        if route.authorizer is not None:
            denied = await run_in_threadpool(self._authorize, self.api.authorizers[route.authorizer], event)
            if denied is not None:
                return denied
        if route.api_key_required and not request.headers.get(API_KEY_HEADER):
            return self.gateway_response("INVALID_API_KEY", 403, "Forbidden")
        return await run_in_threadpool(self._invoke, route, event)

    def _match(self, method: str, path: str) -> tuple[RestRoute, dict[str, str]] | None:
        for route in self.api.routes:
            params = route.match(method, path)
            if params is not None:
                return route, params
        return None

    def _static(self, method: str, path: str) -> Response | None:
        if method not in ("GET", "HEAD"):
            return None
        if path == "/config.json" and self.web_config is not None:
            return JSONResponse(self.web_config, headers={"Cache-Control": "no-store"})
        if self.web_dir is None or "\x00" in path:  # a NUL (%00) names no file; resolve() would raise
            return None
        candidate = (self.web_dir / path.lstrip("/")).resolve()
        if candidate.is_dir():
            candidate = candidate / "index.html"
        if not candidate.is_relative_to(self.web_dir) or not candidate.is_file():
            return None
        return FileResponse(candidate)

    def _event(
        self, request: Request, route: RestRoute, path: str, params: dict[str, str], body: bytes
    ) -> dict[str, Any]:
        headers: dict[str, str] = {}
        multi_headers: dict[str, list[str]] = {}
        for key, value in request.headers.items():
            name = "-".join(part.capitalize() for part in key.split("-"))
            headers[name] = value
            multi_headers.setdefault(name, []).append(value)
        query: dict[str, str] = {}
        multi_query: dict[str, list[str]] = {}
        for key, value in request.query_params.multi_items():
            query[key] = value
            multi_query.setdefault(key, []).append(value)
        try:
            text: str | None = body.decode() if body else None
            is_base64 = False
        except UnicodeDecodeError:
            text, is_base64 = base64.b64encode(body).decode(), True
        source_ip = request.client.host if request.client else "127.0.0.1"
        now = time.time()
        return {
            "resource": route.path,
            "path": path,
            "httpMethod": request.method,
            "headers": headers or None,
            "multiValueHeaders": multi_headers or None,
            "queryStringParameters": query or None,
            "multiValueQueryStringParameters": multi_query or None,
            "pathParameters": params or None,
            "stageVariables": None,
            "requestContext": {
                "accountId": self.account_id,
                "apiId": self.api_id,
                "resourcePath": route.path,
                "httpMethod": request.method,
                "path": f"/{self.api.stage}{path}",
                "stage": self.api.stage,
                "protocol": "HTTP/1.1",
                "requestId": str(uuid.uuid4()),
                "extendedRequestId": uuid.uuid4().hex[:16],
                "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
                "requestTimeEpoch": int(now * 1000),
                "domainName": request.url.netloc,
                "identity": {
                    "sourceIp": source_ip,
                    "userAgent": request.headers.get("user-agent"),
                    "apiKey": request.headers.get(API_KEY_HEADER),
                },
            },
            "body": text,
            "isBase64Encoded": is_base64,
        }

    def method_arn(self, event: Mapping[str, Any]) -> str:
        return (
            f"arn:aws:execute-api:{self.region}:{self.account_id}:{self.api_id}/{self.api.stage}/"
            f"{event['httpMethod']}{event['path']}"
        )

    def gateway_response(
        self, kind: str, status: int, message: str | None, headers: Mapping[str, str] | None = None
    ) -> Response:
        """API Gateway's default response of ``kind``, or the template's GatewayResponses override."""
        responses = self.api.gateway_responses
        custom = responses.get(kind) or responses.get("DEFAULT_4XX" if status < 500 else "DEFAULT_5XX")
        if custom is None:
            return JSONResponse({"message": message}, status_code=status, headers=dict(headers or {}))
        template = (custom.get("responseTemplates") or {}).get("application/json")
        content = template if template is not None else json.dumps({"message": message})
        response = Response(
            content=content,
            status_code=int(custom.get("statusCode", status)),
            media_type="application/json",
            headers=dict(headers or {}),
        )
        for name, value in (custom.get("responseParameters") or {}).items():
            if name.startswith("gatewayresponse.header."):
                response.headers[name.removeprefix("gatewayresponse.header.")] = str(value).strip("'")
        return response

    # -- usage plans -----------------------------------------------------------------------------
    def _plan(self, event: Mapping[str, Any], route: RestRoute) -> tuple[str, UsagePlan] | None:
        """The API key and its usage plan; plans meter keys, so only methods requiring one."""
        headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
        client = headers.get(API_KEY_HEADER)
        if not route.api_key_required or not client or not self.api.usage_plans:
            return None
        named = [p for p in self.api.usage_plans if p.logical_id == self.key_plans.get(client)]
        return client, (named or list(self.api.usage_plans))[0]

    def _usage_plan_limit(self, event: Mapping[str, Any], route: RestRoute) -> Response | None:
        retry_after = self._throttle(event, route)
        if retry_after > 0:
            headers = {"Retry-After": str(max(1, math.ceil(retry_after)))}
            return self.gateway_response("THROTTLED", 429, "Too Many Requests", headers)
        if self._quota_exceeded(event, route):
            return self.gateway_response("QUOTA_EXCEEDED", 429, "Limit Exceeded")
        return None

    def _throttle(self, event: Mapping[str, Any], route: RestRoute) -> float:
        """Seconds to wait before the key may call again (0: go ahead)."""
        found = self._plan(event, route)
        if found is None:
            return 0.0
        client, plan = found
        method_key = f"{route.path}/{route.method}"
        if method_key in plan.method_throttles:
            return self.throttler.check(
                client, f"{plan.logical_id}:{method_key}", plan.method_throttles[method_key]
            )
        if plan.throttle is not None:
            return self.throttler.check(client, plan.logical_id, plan.throttle)
        return 0.0

    def _quota_exceeded(self, event: Mapping[str, Any], route: RestRoute) -> bool:
        """Count the request against the plan's quota (DAY/WEEK/MONTH, UTC); True once used up."""
        found = self._plan(event, route)
        if found is None:
            return False
        client, plan = found
        if plan.quota_limit is None:
            return False
        now = time.gmtime()
        period = {"DAY": now.tm_yday, "WEEK": int(time.strftime("%W", now)), "MONTH": now.tm_mon}
        key = (client, plan.logical_id, now.tm_year, period.get(str(plan.quota_period).upper(), now.tm_yday))
        with self._auth_lock:
            used = self._quota_used.get(key, 0)
            if used >= plan.quota_limit:
                return True
            self._quota_used[key] = used + 1
        return False

    # -- authorizer ------------------------------------------------------------------------------
    def _authorize(self, authorizer: Authorizer, event: dict[str, Any]) -> Response | None:
        identity = identity_values(authorizer, event)
        if not all(identity):
            return self.gateway_response("UNAUTHORIZED", 401, "Unauthorized")
        method_arn = self.method_arn(event)
        key = (authorizer.name, identity)
        with self._auth_lock:
            cached = self._auth_cache.get(key)
        if cached is None or cached.expires <= time.monotonic():
            auth_event = {
                "type": "REQUEST",
                "methodArn": method_arn,
                **{k: event[k] for k in ("resource", "path", "httpMethod", "headers", "multiValueHeaders")},
                **{k: event[k] for k in ("queryStringParameters", "multiValueQueryStringParameters")},
                **{k: event[k] for k in ("pathParameters", "stageVariables", "requestContext")},
            }
            try:
                result = self.runner.invoke(authorizer.function_id, auth_event)
            except FunctionError as err:
                if err.payload.get("errorMessage") == "Unauthorized":
                    return self.gateway_response("UNAUTHORIZED", 401, "Unauthorized")
                return self.gateway_response("AUTHORIZER_FAILURE", 500, None)
            try:
                cached = _CachedPolicy(
                    expires=time.monotonic() + authorizer.ttl_s,
                    principal_id=result.get("principalId"),
                    statements=_statements(result["policyDocument"]),
                    context=dict(result.get("context") or {}),
                )
            except (KeyError, TypeError, AttributeError):
                _log.warning("authorizer %s returned a malformed policy: %r", authorizer.name, result)
                return self.gateway_response("AUTHORIZER_CONFIGURATION_ERROR", 500, None)
            if authorizer.ttl_s > 0:
                with self._auth_lock:
                    self._auth_cache[key] = cached
        if not _allowed(cached.statements, method_arn):
            message = "User is not authorized to access this resource with an explicit deny"
            return self.gateway_response("ACCESS_DENIED", 403, message)
        event["requestContext"]["authorizer"] = {**cached.context, "principalId": cached.principal_id}
        return None

    # -- integration -----------------------------------------------------------------------------
    def _invoke(self, route: RestRoute, event: dict[str, Any]) -> Response:
        try:
            result = self.runner.invoke(route.function_id, event)
        except FunctionError:
            return self.gateway_response("DEFAULT_5XX", 502, "Internal server error")
        try:
            return _proxy_response(result)
        except (TypeError, ValueError, KeyError, AttributeError):
            _log.warning("function %s returned a malformed proxy response: %r", route.function_id, result)
            return self.gateway_response("DEFAULT_5XX", 502, "Internal server error")


def identity_values(authorizer: Authorizer, event: Mapping[str, Any]) -> tuple[str, ...]:
    """The values of the authorizer's identity sources, in order: API Gateway's cache key.

    Headers (case-insensitive), query parameters, stage variables and ``context.*`` variables
    (dotted paths into ``requestContext``, e.g. ``context.httpMethod``, ``context.identity.sourceIp``).
    A missing or empty one is ``""`` (the caller answers 401 without invoking the authorizer).
    Nothing else enters the key: a request differing only elsewhere reuses a cached decision.
    """
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    query = event.get("queryStringParameters") or {}
    stage = event.get("stageVariables") or {}

    def context_value(name: str) -> str:
        value: Any = event.get("requestContext") or {}
        for part in name.split("."):
            value = value.get(part) if isinstance(value, Mapping) else None
        return "" if value is None else str(value)

    return (
        tuple(headers.get(h.lower(), "") for h in authorizer.identity_headers)
        + tuple(query.get(q, "") for q in authorizer.identity_query)
        + tuple(str(stage.get(v, "")) for v in authorizer.identity_stage)
        + tuple(context_value(c) for c in authorizer.identity_context)
    )


def _statements(policy: Mapping[str, Any]) -> list[dict[str, Any]]:
    statements = policy["Statement"]
    return [dict(s) for s in (statements if isinstance(statements, list) else [statements])]


def _allowed(statements: list[dict[str, Any]], method_arn: str) -> bool:
    def matches(statement: Mapping[str, Any]) -> bool:
        resources = statement.get("Resource", [])
        resources = resources if isinstance(resources, list) else [resources]
        return any(fnmatch.fnmatchcase(method_arn, str(r)) for r in resources)

    if any(s.get("Effect") == "Deny" and matches(s) for s in statements):
        return False
    return any(s.get("Effect") == "Allow" and matches(s) for s in statements)


def _proxy_response(result: Any) -> Response:
    if not isinstance(result, dict):
        raise TypeError("proxy result must be an object")
    status = int(result.get("statusCode", 200))
    body = result.get("body") or ""
    if not isinstance(body, str):
        raise TypeError("proxy result body must be a string")
    content = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode()
    response = Response(content=content, status_code=status)
    for name, values in (result.get("multiValueHeaders") or {}).items():
        for value in values:
            response.headers.append(name, str(value))
    for name, value in (result.get("headers") or {}).items():
        response.headers[name] = str(value)
    if "content-type" not in response.headers:
        response.headers["content-type"] = "application/json"
    return response
