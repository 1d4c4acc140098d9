"""REST Lambda authorizer (REQUEST): API key + HMAC signature + replay window -> IAM policy.

Any authentication failure raises ``Unauthorized``, which API Gateway turns into a 401 (gateway
response ``UNAUTHORIZED``); the precise reason (UNAUTHENTICATED / INVALID_SIGNATURE /
STALE_REQUEST) is logged. Scopes travel in the context and each handler enforces its own (403).
The Allow policy names this request's method ARN only, and API Gateway caches nothing
(``ReauthorizeEvery: 0``): every request is verified on its own (docs/adr/0003-request-signing.md).
"""

import time
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext
from trading.adapters.api_keys import ApiKeysTable
from trading.auth.authorizer import allow_policy, authenticate
from trading.domain.errors import DomainError
from trading.settings import AuthorizerSettings

logger = Logger()
tracer = Tracer()


@cache
def _settings() -> AuthorizerSettings:
    return AuthorizerSettings()  # type: ignore[call-arg]


@cache
def _keys() -> ApiKeysTable:
    return ApiKeysTable(_settings().api_keys_table, cache_seconds=_settings().api_key_cache_seconds)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        principal = authenticate(
            event,
            _keys().get,
            now_ms=int(time.time() * 1000),
            replay_window_seconds=_settings().replay_window_seconds,
        )
        policy = allow_policy(principal, str(event.get("methodArn", "")))
    except DomainError as exc:
        logger.info("request rejected", extra={"code": str(exc.code), "reason": exc.message})
        raise Exception("Unauthorized") from exc
    logger.append_keys(account_id=principal.account_id, key_id=principal.key_id)
    return policy
