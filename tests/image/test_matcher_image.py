"""The matcher image built on this machine and run against the local runtime (issue 14).

`make image-test` builds the image (scripts/image.sh: Docker where a daemon answers, else
buildah on a Debian base) and runs this with RUN_IMAGE_TEST=1: the runtime starts without its own
matcher, the image's entrypoint runs (`buildah run`, host network) with the task definition's
environment pointed at the runtime, `/health` must answer 200, and two orders placed through the
REST API must match. It takes minutes (the build dominates), so `make test` skips it; under CI
with RUN_IMAGE_TEST=1 a missing builder is a failure, not a skip.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
IMAGE = os.environ.get("IMAGE", "trading-matcher:test")
BUILDAH = ["buildah", "--storage-driver", "vfs"]
SYMBOL = "ETH-USD"

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("image")]


def _builder() -> str:
    if not os.environ.get("RUN_IMAGE_TEST"):
        pytest.skip("builds and runs the matcher image: `make image-test`")
    tool = subprocess.run(
        [str(ROOT / "scripts" / "image.sh"), "tool"], capture_output=True, text=True, check=True
    ).stdout.strip()
    if tool == "buildah" and not (shutil.which("buildah") and shutil.which("mmdebstrap")):
        if os.environ.get("CI"):
            pytest.fail("buildah/mmdebstrap missing under CI (make image-tools installs them)")
        pytest.skip("no Docker daemon and no buildah (make image-tools installs it as root)")
    return tool


@pytest.fixture(scope="module")
def image() -> str:
    tool = _builder()
    subprocess.run(
        [str(ROOT / "scripts" / "image.sh"), "build"],
        env={**os.environ, "IMAGE": IMAGE},
        check=True,
        timeout=1500,
    )
    return tool


def _entrypoint(tool: str) -> list[str]:
    if tool == "docker":
        out = subprocess.run(
            ["docker", "image", "inspect", IMAGE], capture_output=True, text=True, check=True
        ).stdout
        return list(json.loads(out)[0]["Config"]["Entrypoint"])
    out = subprocess.run(
        [*BUILDAH, "inspect", "--type", "image", IMAGE], capture_output=True, text=True, check=True
    ).stdout
    return list(json.loads(out)["OCIv1"]["config"]["Entrypoint"])


def _run_command(tool: str, env: dict[str, str], name: str) -> tuple[list[str], list[str]]:
    """The command that runs the image's entrypoint with ``env`` on the host network, and its cleanup."""
    entrypoint = _entrypoint(tool)
    if tool == "docker":
        flags = [f"--env={k}={v}" for k, v in env.items()]
        return (
            ["docker", "run", "--rm", "--name", name, "--network", "host", *flags, IMAGE],
            ["docker", "rm", "-f", name],
        )
    container = subprocess.run(
        [*BUILDAH, "from", "--name", name, IMAGE], capture_output=True, text=True, check=True
    ).stdout.strip()
    for key, value in env.items():
        subprocess.run([*BUILDAH, "config", "--env", f"{key}={value}", container], check=True)
    return (
        [*BUILDAH, "run", "--isolation", "chroot", container, "--", *entrypoint],
        [*BUILDAH, "rm", container],
    )


@pytest.fixture(scope="module")
def runtime_with_image(image: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from localcloud.matcher import MatcherSupervisor
    from localcloud.runtime import LocalRuntime

    runtime = LocalRuntime(
        tmp_path_factory.mktemp("image-e2e") / "data",
        rest_port=0,
        ws_port=0,
        run_matcher=False,  # the image's entrypoint is the matcher here
        run_schedules=False,
        persist_dynamodb=False,
    )
    runtime.start()
    env = runtime.matcher_env(runtime._translated)
    health = f"http://127.0.0.1:{env['MATCHER_PORT']}/health"
    name = f"matcher-test-{uuid.uuid4().hex[:8]}"
    command, cleanup = _run_command(image, env, name)
    supervisor = MatcherSupervisor({}, runtime.data_dir / "image-matcher.log", command=command)
    try:
        # Nothing answers before the image runs: the health check below is the image's own
        with pytest.raises(httpx.TransportError):
            httpx.get(health, timeout=1)
        assert supervisor.start()
        runtime.image_matcher = supervisor
        runtime.image_health_url = health
        yield runtime
    finally:
        supervisor.stop()
        subprocess.run(cleanup, check=False, capture_output=True)
        runtime.stop()


def _wait(check: Any, timeout_s: float) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.5)


def _trader(runtime: Any, **deposits: str) -> Any:
    from trading.client import TradingClient

    account_id = f"image-{uuid.uuid4().hex[:10]}"
    runtime.admin({"action": "create_account", "account_id": account_id})
    for asset, amount in deposits.items():
        runtime.admin({"action": "deposit", "account_id": account_id, "asset": asset, "amount": amount})
    key = runtime.admin({"action": "create_key", "account_id": account_id, "scopes": ["trade", "read"]})
    return TradingClient(runtime.urls.rest, key["key_id"], key["secret"])


def _status(client: Any, order_id: str, wanted: str) -> str:
    from trading.client import decode

    return str(_wait(lambda: (s := decode(client.get_order(order_id))["status"]) == wanted and s, 60) or "")


def test_the_image_answers_health_and_matches_an_order_through_the_api(runtime_with_image: Any) -> None:
    from trading.client import decode

    runtime = runtime_with_image
    log = runtime.data_dir / "image-matcher.log"

    # Given the image's entrypoint running against the runtime's moto and queues
    def healthy() -> bool:
        try:
            return httpx.get(runtime.image_health_url, timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    # When it has started
    # Then /health answers 200 (the service polls orders.fifo)
    assert _wait(healthy, 180), log.read_text(errors="replace")[-3000:]

    # When a seller rests 0.5 ETH at 2500 and a buyer takes it through the REST API
    seller, buyer = _trader(runtime, ETH="1"), _trader(runtime, USD="5000")
    sell = seller.place_order(
        symbol=SYMBOL,
        client_order_id=uuid.uuid4().hex,
        side="SELL",
        type="LIMIT",
        price="2500.00",
        quantity="0.500",
    )
    assert sell.status_code == 201, sell.text
    sell_id = decode(sell)["order_id"]
    assert _status(seller, sell_id, "OPEN") == "OPEN"
    buy = buyer.place_order(
        symbol=SYMBOL,
        client_order_id=uuid.uuid4().hex,
        side="BUY",
        type="LIMIT",
        price="2500.00",
        quantity="0.500",
    )
    assert buy.status_code == 201, buy.text
    buy_id = decode(buy)["order_id"]

    # Then the image's matcher fills both, and the fill is the engine's (0.500 at 2500.00)
    assert _status(buyer, buy_id, "FILLED") == "FILLED"
    assert _status(seller, sell_id, "FILLED") == "FILLED"
    assert decode(buyer.get_order(buy_id))["filled_quantity"] == "0.500"
    assert runtime.image_matcher.restarts == 0, log.read_text(errors="replace")[-3000:]
