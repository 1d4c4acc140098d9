"""Concurrent in-process invocations of Powertools REST handlers each see their own request.

Powertools keeps the request being resolved in class attributes of ``BaseRouter``; the local
runtime runs handlers concurrently on threads, so without :mod:`localcloud.sandbox` one request
could read another's event (the soak saw a caller authorized as another concurrent caller).
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.event_handler.api_gateway import BaseRouter, Router
from localcloud import sandbox

router = Router()


@router.get("/whoami/<caller>")
def whoami(caller: str) -> dict[str, Any]:
    header = router.current_event.headers["x-caller"]  # read through a Router, like the routes
    time.sleep(0.002)  # let the other threads resolve their own requests meanwhile
    again = router.current_event.headers["x-caller"]
    routed = router.context.get("_route_args", {}).get("caller")
    return {
        "caller": header,
        "again": again,
        "context": router.lambda_context,
        "path": caller,
        "routed": routed,
    }


def _event(caller: str) -> dict[str, Any]:
    return {
        "httpMethod": "GET",
        "path": f"/whoami/{caller}",
        "resource": "/whoami/{caller}",
        "headers": {"x-caller": caller},
        "requestContext": {"stage": "$default"},
        "body": None,
        "isBase64Encoded": False,
    }


def _resolve_concurrently(threads: int = 8, rounds: int = 25) -> list[tuple[str, Any]]:
    app = APIGatewayRestResolver()
    app.include_router(router)
    wrong: list[tuple[str, Any]] = []
    start = threading.Barrier(threads)

    def worker(n: int) -> None:
        start.wait()
        for r in range(rounds):
            caller = f"caller-{n}-{r}"
            try:
                response = app.resolve(_event(caller), caller)
            except Exception as exc:  # e.g. KeyError('_route') when another thread cleared the context
                wrong.append((caller, repr(exc)))
                continue
            body = response["body"]
            if f'"caller":"{caller}"' not in body or f'"again":"{caller}"' not in body:
                wrong.append((caller, body))
            for key in ("context", "path", "routed"):
                if f'"{key}":"{caller}"' not in body:
                    wrong.append((caller, body))

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return wrong


def test_without_the_sandbox_concurrent_requests_read_each_other(monkeypatch: pytest.MonkeyPatch) -> None:
    if sandbox.installed():
        pytest.skip("the sandbox is installed process-wide already (this process ran the runtime)")
    # The canary: Powertools still shares the request between threads (else the patch can go)
    assert _resolve_concurrently(), "Powertools no longer shares request state: remove localcloud.sandbox"


def test_with_the_sandbox_each_request_sees_only_its_own_event() -> None:
    # Given the sandbox installed (as the runtime does before any handler runs)
    sandbox.install()
    sandbox.install()  # idempotent
    # When eight threads resolve requests at once
    wrong = _resolve_concurrently()
    # Then every handler read its own event, context and route arguments, and nothing failed
    assert wrong == []
    # And a single-threaded resolve is unchanged, class-level access included
    app = APIGatewayRestResolver()
    app.include_router(router)
    assert '"caller":"solo"' in app.resolve(_event("solo"), "solo")["body"]
    assert BaseRouter.current_event.headers["x-caller"] == "solo"
