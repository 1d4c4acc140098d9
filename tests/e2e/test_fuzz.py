"""Schemathesis against the OpenAPI document the running local runtime serves (issue 13).

Every operation of ``GET /v1/openapi.json`` is fuzzed with a fixed seed; signed operations are
signed at the transport (a ``requests`` auth hook on the prepared request), so the HMAC covers the
exact method, percent-decoded path, query and body bytes that go on the wire. The checks are
``not_a_server_error``, ``status_code_conformance``, ``content_type_conformance`` and
``response_schema_conformance``: no 5xx, and every answer is one the document declares.

``make test`` runs a bounded version (``FUZZ_EXAMPLES``, default 5 per operation); ``make fuzz``
runs it with 50 examples per operation.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from orders_support import Trader, new_trader, runtime_for, start_own_runtime
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from trading.auth import canonical_path, signed_headers

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "5"))
FUZZ_SEED = int(os.environ.get("FUZZ_SEED", "20261201"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


class SignedAuth(requests.auth.AuthBase):
    """Sign the prepared request: what is signed is exactly what is sent."""

    def __init__(self, key_id: str, secret: str) -> None:
        self.key_id, self.secret = key_id, secret

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        parts = urlsplit(str(request.url))
        query: dict[str, list[str]] = {}
        for name, value in parse_qsl(parts.query, keep_blank_values=True):
            query.setdefault(name, []).append(value)
        body = request.body.encode() if isinstance(request.body, str) else (request.body or b"")
        headers = signed_headers(
            key_id=self.key_id,
            secret=self.secret,
            method=str(request.method),
            path=canonical_path(unquote(parts.path), query),  # the server signs the decoded path
            body=body,
            timestamp_ms=int(time.time() * 1000),
        )
        request.headers.update(headers)
        return request


def _listed_symbol(case: Any) -> Any:
    """A third of the cases name a listed symbol, so they reach the code behind UNKNOWN_SYMBOL."""
    symbol = "BTC-USD" if len(repr(case.body)) % 2 else "ETH-USD"
    for where in (case.path_parameters, case.query):
        if isinstance(where, dict) and "symbol" in where:
            where["symbol"] = symbol
    if isinstance(case.body, dict) and "symbol" in case.body:
        case.body["symbol"] = symbol
    return case


@pytest.fixture(scope="module")
def orders_own_runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    yield from start_own_runtime(tmp_path_factory)


@pytest.fixture(scope="module")
def fuzz_runtime(request: pytest.FixtureRequest) -> Any:
    return runtime_for(request)


@pytest.fixture(scope="module")
def fuzz_trader(fuzz_runtime: Any) -> Trader:
    trader = new_trader(fuzz_runtime, USD="1000000", BTC="100", ETH="1000")
    # The pro usage plan, so that the fuzzer mostly meets the API rather than the throttle
    if any(p.logical_id == "ProUsagePlan" for p in fuzz_runtime.rest.api.usage_plans):
        fuzz_runtime.rest.key_plans[trader.key_id] = "ProUsagePlan"
    return trader


@pytest.fixture(scope="module")
def fuzz_session(fuzz_trader: Trader) -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.auth = SignedAuth(fuzz_trader.key_id, fuzz_trader.secret)
        yield session


@pytest.fixture(scope="module")
def served_schema(fuzz_runtime: Any) -> Any:
    return schemathesis.openapi.from_url(f"{fuzz_runtime.urls.rest}/v1/openapi.json")


# The operations, known at collection time from the committed document (the test below checks
# the served one is the same); each is then fuzzed from the schema the runtime serves.
COMMITTED = json.loads((Path(__file__).resolve().parents[2] / "docs" / "openapi.json").read_text())
OPERATIONS = [(method.upper(), path) for path, ops in COMMITTED["paths"].items() for method in ops]


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_every_operation_answers_only_what_the_document_declares(
    method: str, path: str, served_schema: Any, fuzz_runtime: Any, fuzz_session: requests.Session
) -> None:
    operation = served_schema[path][method]
    positive = operation.as_strategy(GenerationMode.POSITIVE)
    cases = st.one_of(positive, positive.map(_listed_symbol), operation.as_strategy(GenerationMode.NEGATIVE))

    @given(case=cases)
    @seed(FUZZ_SEED)
    @settings(
        max_examples=FUZZ_EXAMPLES,
        deadline=None,
        database=None,  # a fixed seed and no example database: every run sends the same requests
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def fuzz(case: Any) -> None:
        response = case.call_and_validate(
            base_url=fuzz_runtime.urls.rest, session=fuzz_session, checks=CHECKS, timeout=30
        )
        statuses.append(response.status_code)

    statuses: list[int] = []
    fuzz()
    # The signature hook works: requests get past the gateway, not just a conforming 401 each time
    assert statuses and any(status != 401 for status in statuses), statuses
    print(f"{method} {path}: {sorted(statuses)}")


def test_the_served_document_is_the_committed_one(fuzz_runtime: Any) -> None:
    # The fuzzer reads the live document; it must be the one docs/openapi.json commits
    served = requests.get(f"{fuzz_runtime.urls.rest}/v1/openapi.json", timeout=30).json()
    assert served == COMMITTED
