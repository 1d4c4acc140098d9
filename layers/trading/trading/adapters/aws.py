"""boto3 clients and resources, created once per container, and what counts as an AWS outage.

``AWS_ENDPOINT_URL`` (set by the local runtime and the tests) is honoured by boto3 itself, so the
same code talks to AWS or to moto.

Retries are botocore's ``standard`` mode, bounded so that a REST request fits its Lambda's 10 s:
at most :data:`MAX_ATTEMPTS` attempts per call, exponential backoff with full jitter between them
(``rand(0, 1) * 2**(attempt-1)`` s: at most 1 s, then 2 s), and the client-wide retry quota that
stops retrying when most calls fail. The throttling codes botocore retries are those of
``botocore.retries.standard`` (``ProvisionedThroughputExceededException``, ``ThrottlingException``,
``RequestLimitExceeded``, ``RequestThrottled``, ...), plus HTTP 5xx, timeouts and refused or
dropped connections. Worst case for one call: a throttled or refused call gives up after at most
3 s of backoff (plus three round trips); an unreachable host after 3 s of connect timeouts plus
the backoff. What is still failing after that is an outage (:func:`is_transient`), answered
``503 SERVICE_UNAVAILABLE`` with ``Retry-After`` by ``trading.api.errors``. Not covered: an endpoint
that accepts the connection and then never answers takes ``3 * 5 s`` plus backoff, past a REST
function's 10 s timeout (API Gateway then answers 504); docs/availability.md.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

MAX_ATTEMPTS = 3  # the first attempt and two retries
CONNECT_TIMEOUT_SECONDS = 1
# Generous enough that a slow answer is not retried (a retried non-conditional write, e.g. an API
# Gateway key, would then conflict with itself); DynamoDB and SQS answer in milliseconds.
READ_TIMEOUT_SECONDS = 5

_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": MAX_ATTEMPTS},
    connect_timeout=CONNECT_TIMEOUT_SECONDS,
    read_timeout=READ_TIMEOUT_SECONDS,
)

# Error codes of a dependency that is overloaded or briefly away, not of a bad request: the throttling
# codes botocore's standard mode retries (botocore.retries.standard.ThrottledRetryableChecker) and
# its transient codes.
THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "LimitExceededException",
        "RequestThrottled",
        "SlowDown",
        "PriorRequestNotComplete",
        "EC2ThrottledException",
    }
)
TRANSIENT_CODES = THROTTLING_CODES | {
    "RequestTimeout",
    "RequestTimeoutException",
    "InternalServerError",
    "InternalFailure",
    "ServiceUnavailable",
}


@cache
def client(service: str) -> Any:
    return boto3.session.Session().client(service, config=_CONFIG)  # type: ignore[call-overload]


@cache
def resource(service: str) -> Any:
    return boto3.session.Session().resource(service, config=_CONFIG)  # type: ignore[call-overload]


def reset() -> None:
    """Forget cached clients (tests that change ``AWS_ENDPOINT_URL`` call this)."""
    client.cache_clear()
    resource.cache_clear()


def is_transient(exc: BaseException | None) -> bool:
    """True for an AWS failure a later retry can get through: throttling, a 5xx, a timeout or a lost
    connection (also when wrapped, e.g. by Powertools idempotency's persistence errors)."""
    seen = 0
    while exc is not None and seen < 8:
        if isinstance(exc, HTTPClientError | BotoConnectionError):  # timeouts, refused/dropped connections
            return True
        if isinstance(exc, ClientError):
            error = exc.response.get("Error", {})
            status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
            return error.get("Code") in TRANSIENT_CODES or status >= 500
        if isinstance(exc, BotoCoreError):
            return False
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False
