"""`migrate` Lambda: the `DbSchema` custom resource that puts the schema into Aurora at deploy time.

CloudFormation invokes it with a Create, Update or Delete request (the custom resource's
properties carry the layer version, so every new layer, and with it every new migration, is an
Update). Create and Update apply the pending ``trading.db.migrate`` migrations through the RDS
Proxy writer endpoint: idempotent (applied versions are recorded with their checksum), all pending
ones in one transaction, serialised by an advisory lock. Delete changes nothing: the data outlives
the stack (the cluster keeps a final snapshot). Every request is answered with SUCCESS or FAILED
(and the reason) by a PUT to the pre-signed ``ResponseURL``; a handler that raised without
answering would leave the stack waiting for an hour.
"""

from __future__ import annotations

import json
import os
import threading
import time
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any

from aws_lambda_powertools import Logger
from trading.adapters import database
from trading.db.migrate import apply_migrations, discover

logger = Logger()

PHYSICAL_ID = "trading-db-schema"
# CloudFormation rejects a response body over 4 KiB; the reason is cut well below that.
MAX_REASON_CHARS = 1500
SEND_ATTEMPTS = 4
SEND_TIMEOUT_S = 10.0
# Seconds kept back from the invocation's deadline to send the answer (SEND_ATTEMPTS bounded).
RESPONSE_RESERVE_S = 20.0


def ca_bundle() -> str:
    """The CA file libpq verifies the proxy against (``DB_SSL_ROOT_CERT`` overrides)."""
    return database.ca_bundle(os.environ.get("DB_SSL_ROOT_CERT"))


def writer_dsn(secrets: Any | None = None, environ: Mapping[str, str] = os.environ) -> str:
    """The proxy writer endpoint as the master user, TLS verified against the host name."""
    import boto3  # noqa: PLC0415 - only in AWS; tests pass a DSN
    import psycopg2.extensions  # noqa: PLC0415

    client = secrets or boto3.client("secretsmanager")
    secret = json.loads(client.get_secret_value(SecretId=environ["DB_SECRET_ARN"])["SecretString"])
    return str(
        psycopg2.extensions.make_dsn(
            host=environ["DB_WRITER_HOST"],
            port=environ.get("DB_PORT", "5432"),
            dbname=environ["DB_NAME"],
            user=secret["username"],
            password=secret["password"],
            connect_timeout=10,
            sslmode="verify-full",
            sslrootcert=ca_bundle(),
            application_name="trading-migrate",
        )
    )


def send_response(
    event: Mapping[str, Any],
    status: str,
    reason: str,
    physical_id: str,
    data: Mapping[str, str] | None = None,
    *,
    opener: Callable[..., Any] = urllib.request.urlopen,
) -> None:
    """PUT the custom resource response to the pre-signed URL; bounded retries on network errors."""
    body = json.dumps(
        {
            "Status": status,
            "Reason": reason[:MAX_REASON_CHARS],
            "PhysicalResourceId": physical_id,
            "StackId": event["StackId"],
            "RequestId": event["RequestId"],
            "LogicalResourceId": event["LogicalResourceId"],
            "NoEcho": False,
            "Data": dict(data or {}),
        }
    ).encode()
    # The URL is signed without a content type: sending one would break the signature.
    request = urllib.request.Request(  # noqa: S310 - CloudFormation's https pre-signed URL
        event["ResponseURL"],
        data=body,
        method="PUT",
        headers={"Content-Type": "", "Content-Length": str(len(body))},
    )
    for attempt in range(1, SEND_ATTEMPTS + 1):
        try:
            with opener(request, timeout=SEND_TIMEOUT_S) as answer:
                answer.read()
            return
        except OSError:
            if attempt == SEND_ATTEMPTS:
                raise
            logger.warning("custom resource response failed, retrying", extra={"attempt": attempt})
            time.sleep(0.5 * 2**attempt)


def _apply(request_type: Any, dsn: Callable[[], str]) -> tuple[str, str, dict[str, str]]:
    if request_type in ("Create", "Update"):
        applied = apply_migrations(dsn())
        latest = max((m.version for m in discover()), default=0)
        data = {"Applied": ",".join(map(str, applied)), "SchemaVersion": str(latest)}
        return "SUCCESS", (f"applied {applied}" if applied else "schema up to date"), data
    if request_type == "Delete":
        return "SUCCESS", "schema and data kept (nothing is dropped on delete)", {}
    return "FAILED", f"unknown RequestType {request_type!r}", {}


def handler(
    event: dict[str, Any],
    context: Any,
    dsn: Callable[[], str] = writer_dsn,
    send: Callable[..., None] = send_response,
) -> dict[str, Any]:
    request_type = event.get("RequestType")
    physical_id = str(event.get("PhysicalResourceId") or PHYSICAL_ID)
    outcome: list[tuple[str, str, dict[str, str]]] = []

    def work() -> None:
        try:
            outcome.append(_apply(request_type, dsn))
        except Exception as exc:  # every failure must reach CloudFormation, not only the log
            logger.exception("migration failed")
            outcome.append(("FAILED", f"{type(exc).__name__}: {exc}", {}))

    # Answer FAILED before Lambda's own timeout would end the invocation without any answer.
    remaining_ms = getattr(context, "get_remaining_time_in_millis", lambda: 300_000)()
    worker = threading.Thread(target=work, name="migrate", daemon=True)
    worker.start()
    worker.join(max(1.0, remaining_ms / 1000 - RESPONSE_RESERVE_S))
    status, reason, data = (
        outcome[0]
        if outcome
        else ("FAILED", f"timed out after {remaining_ms // 1000} s (lock or database)", {})
    )
    logger.info(
        "custom resource answered", extra={"request": request_type, "status": status, "reason": reason}
    )
    send(event, status, reason, physical_id, data)
    return {"Status": status, "Reason": reason, "PhysicalResourceId": physical_id, "Data": data}
