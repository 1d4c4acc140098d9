"""A client generated from docs/openapi.json (openapi-python-client), given only a key and its
secret, places and cancels an order against the local runtime (issue 13).

``scripts/generated_client_demo.py`` builds ``.client-venv`` with the generator once, generates the
client and drives it; the driver imports nothing of ``trading``: the document is the whole contract.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from orders_support import balances, new_trader, runtime_for, start_own_runtime, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "generated_client_demo.py"


@pytest.fixture(scope="module")
def orders_own_runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    yield from start_own_runtime(tmp_path_factory)


def test_a_generated_client_places_and_cancels_an_order(request: pytest.FixtureRequest) -> None:
    # Given a funded trader's key and secret, and nothing else
    runtime = runtime_for(request)
    trader = new_trader(runtime, USD="1000")
    # When the generated client places a resting buy and cancels it
    command = [sys.executable, str(SCRIPT), "--base-url", runtime.urls.rest]
    completed = subprocess.run(
        [*command, "--key", trader.key_id, "--secret", trader.secret],
        capture_output=True,
        text=True,
        timeout=540,
        check=False,
    )
    # Then the order was accepted (201), the cancel queued (202) and the matcher cancelled it
    assert completed.returncode == 0, completed.stdout + completed.stderr
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    assert (result["placed"], result["cancel"], result["final_status"]) == (201, 202, "CANCELED")
    assert result["order"]["post_only"] is True
    # And its hold went back (released by the order archiver once the cancel reaches the stream)
    wait_for(lambda: balances(trader)["USD"] == ("1000.000000", "0.000000"), timeout_s=30)
