"""Powertools idempotency on ``(account_id, client_order_id)`` with the DynamoDB persistence layer.

The idempotency key is the account and client order id; the rest of the request is the payload
that must match on a retry (else ``IdempotencyValidationError`` -> 409 ``IDEMPOTENCY_CONFLICT``).
A retry gets the first call's stored answer; a concurrent duplicate finds the record in progress
(409 too) and, because the order id is derived from the same key, can never create a second order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)

from trading.adapters import aws
from trading.domain.errors import DomainError, ErrorCode


class Idempotency:
    def __init__(self, table_name: str, expires_after_seconds: int = 3600) -> None:
        self._persistence = DynamoDBPersistenceLayer(
            table_name=table_name, boto3_client=aws.client("dynamodb")
        )
        self._config = IdempotencyConfig(
            event_key_jmespath="[account_id, client_order_id]",
            payload_validation_jmespath="request",
            raise_on_no_idempotency_key=True,
            expires_after_seconds=expires_after_seconds,
        )

    def register_context(self, lambda_context: Any) -> None:
        """Lets an in-progress record expire when the Lambda invocation that owns it times out."""
        if lambda_context is not None and hasattr(lambda_context, "get_remaining_time_in_millis"):
            self._config.register_lambda_context(lambda_context)

    def run(
        self,
        account_id: str,
        client_order_id: str,
        request: dict[str, Any],
        call: Callable[[], dict[str, Any]],
    ) -> dict[str, Any]:
        @idempotent_function(  # type: ignore[untyped-decorator]
            data_keyword_argument="key", config=self._config, persistence_store=self._persistence
        )
        def _once(key: dict[str, Any]) -> dict[str, Any]:
            return call()

        key = {"account_id": account_id, "client_order_id": client_order_id, "request": request}
        try:
            result: dict[str, Any] = _once(key=key)
        except IdempotencyValidationError as exc:
            raise DomainError(
                ErrorCode.IDEMPOTENCY_CONFLICT, "client_order_id was already used with a different request"
            ) from exc
        except IdempotencyAlreadyInProgressError as exc:
            raise DomainError(
                ErrorCode.IDEMPOTENCY_CONFLICT, "a request with this client_order_id is still in progress"
            ) from exc
        return result
