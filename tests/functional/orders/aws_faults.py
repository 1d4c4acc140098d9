"""Faults injected at the botocore transport of the functions' own clients (``trading.adapters.aws``).

A ``before-send`` hook answers an attempt the way an overloaded or unreachable AWS endpoint would:
a 400 throttling error in the service's JSON protocol (parsed and retried by botocore like the real
thing) or a connection/timeout exception (retried too). Everything else reaches the moto server.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.exceptions import ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError
from trading.adapters import aws

# How each fault kind answers; a service name picks the JSON error namespace.
THROTTLE_CODES = {"dynamodb": "ProvisionedThroughputExceededException", "sqs": "RequestThrottled"}
_NAMESPACES = {"dynamodb": "com.amazonaws.dynamodb.v20120810", "sqs": "com.amazonaws.sqs"}


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


@dataclass
class Fault:
    service: str  # "dynamodb" | "sqs"
    operation: str  # e.g. "PutItem", "SendMessage"
    kind: str  # "throttle" | "endpoint" | "connect_timeout" | "read_timeout" | "validation"
    target: str | None = None  # a table name / queue URL the request must name (None: any)
    failures: int | None = None  # fail this many attempts, then pass (None: every attempt)
    attempts: int = 0  # attempts this fault answered
    passed: int = 0  # matching attempts let through after ``failures``
    log: list[str] = field(default_factory=list)

    def matches(self, request: Any) -> bool:
        if self.target is None:
            return True
        body = request.body.decode() if isinstance(request.body, bytes) else str(request.body or "")
        return self.target in body or self.target in json.dumps(body)

    def __call__(self, request: Any, **_: Any) -> AWSResponse | None:
        if not self.matches(request):
            return None
        if self.failures is not None and self.attempts >= self.failures:
            self.passed += 1
            return None
        self.attempts += 1
        if self.kind == "endpoint":
            raise EndpointConnectionError(endpoint_url=request.url)
        if self.kind == "connect_timeout":
            raise ConnectTimeoutError(endpoint_url=request.url)
        if self.kind == "read_timeout":
            raise ReadTimeoutError(endpoint_url=request.url)
        code = THROTTLE_CODES[self.service] if self.kind == "throttle" else "ValidationException"
        body = json.dumps({"__type": f"{_NAMESPACES[self.service]}#{code}", "message": f"injected {code}"})
        headers = {"x-amzn-ErrorType": code, "Content-Type": "application/x-amz-json-1.0"}
        if self.service == "sqs":
            headers["x-amzn-query-error"] = f"{code};Sender"
        return AWSResponse(request.url, 400, headers, _Raw(body.encode()))


def _emitters(service: str) -> list[Any]:
    emitters = [aws.client(service).meta.events]
    if service == "dynamodb":
        emitters.append(aws.resource("dynamodb").meta.client.meta.events)
    return emitters


@contextmanager
def injected(*faults: Fault) -> Iterator[tuple[Fault, ...]]:
    """Install the faults on the cached clients and resources for the duration of the block."""
    installed: list[tuple[Any, str, Fault]] = []
    for fault in faults:
        event = f"before-send.{fault.service}.{fault.operation}"
        for emitter in _emitters(fault.service):
            emitter.register_first(event, fault)
            installed.append((emitter, event, fault))
    try:
        yield faults
    finally:
        for emitter, event, fault in installed:
            emitter.unregister(event, fault)
