"""A client generated from docs/openapi.json by a standard generator places and cancels an order.

    python scripts/generated_client_demo.py [--base-url http://127.0.0.1:3000] [--key K --secret S]

Against ``make run`` the defaults are the seeded demo key of ``alice``. What it does:

1. builds ``.client-venv/`` once with ``openapi-python-client`` (pinned below) and generates a
   client package from ``docs/openapi.json`` into a temporary directory;
2. runs this file again inside that venv (``--drive``), with only the generated package, httpx and
   the standard library: it signs every request in an httpx request hook exactly as docs/api.md
   says (HMAC-SHA256 keyed by the raw SHA-256 digest of the secret, over timestamp, method,
   percent-decoded path with the canonical query, body hash), then places a post-only limit buy
   far below the market, reads it back, cancels it and waits for ``CANCELED``.

It prints one JSON object and exits 0 when the order was placed (201) and cancelled (202, then
``CANCELED``). Nothing of ``trading`` is imported by the driver: the document is the contract.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from decimal import ROUND_CEILING, Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, unquote

REPO = Path(__file__).resolve().parents[1]
GENERATOR = "openapi-python-client==0.29.1"
VENV = REPO / ".client-venv"


# -- orchestration (any Python 3.11) --------------------------------------------------------------


def _venv_python() -> Path:
    python = VENV / "bin" / "python"
    stamp = VENV / f".{GENERATOR}"
    if not stamp.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)  # noqa: S603 - fixed argv
        subprocess.run([str(python), "-m", "pip", "install", "-q", GENERATOR], check=True)  # noqa: S603
        stamp.touch()
    return python


def generate(python: Path, out_dir: Path) -> Path:
    """Generate the client package from the committed document; returns the package's parent."""
    generator = python.parent / "openapi-python-client"
    subprocess.run(  # noqa: S603 - the generator we installed, no shell
        [
            str(generator),
            "generate",
            "--path",
            str(REPO / "docs" / "openapi.json"),
            "--meta",
            "none",
            "--output-path",
            str(out_dir / "trading_api_client"),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return out_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:3000")
    parser.add_argument("--key", default="ak_demo_alice_local_key")
    parser.add_argument("--secret", default="demo-secret-alice")
    parser.add_argument("--drive", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.drive:
        return drive(args.base_url, args.key, args.secret)
    python = _venv_python()
    with tempfile.TemporaryDirectory(prefix="generated-client-") as tmp:
        package_root = generate(python, Path(tmp))
        env = {**os.environ, "PYTHONPATH": str(package_root)}
        command = [str(python), __file__, "--drive", "--base-url", args.base_url]
        command += ["--key", args.key, "--secret", args.secret]
        return subprocess.run(command, env=env, check=False).returncode  # noqa: S603 - this file


# -- the driver (inside .client-venv: the generated package, httpx, the standard library) --------


def _signer(key_id: str, secret: str) -> Any:
    hmac_key = hashlib.sha256(secret.encode()).digest()  # the raw digest, not its hex

    def sign(request: Any) -> None:
        body = request.read() or b""
        pairs = sorted(parse_qsl(request.url.query.decode(), keep_blank_values=True))
        query = "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in pairs)
        path = unquote(request.url.path)
        signed_path = f"{path}?{query}" if query else path
        timestamp = str(int(time.time() * 1000))
        body_hash = hashlib.sha256(body).hexdigest()
        message = f"{timestamp}\n{request.method}\n{signed_path}\n{body_hash}"
        request.headers["X-API-Key"] = key_id
        request.headers["X-Timestamp"] = timestamp
        request.headers["X-Content-SHA256"] = body_hash
        request.headers["X-Signature"] = hmac.new(hmac_key, message.encode(), hashlib.sha256).hexdigest()

    return sign


def drive(base_url: str, key_id: str, secret: str) -> int:
    from trading_api_client import Client  # noqa: PLC0415 - generated at run time
    from trading_api_client.api.account import get_order_v1_orders_order_id_get as get_order  # noqa: PLC0415
    from trading_api_client.api.market_data import list_instruments_v1_instruments_get  # noqa: PLC0415
    from trading_api_client.api.orders import (  # noqa: PLC0415
        cancel_order_v1_orders_order_id_delete as cancel_order,
    )
    from trading_api_client.api.orders import place_order_v1_orders_post as place_order  # noqa: PLC0415
    from trading_api_client.models import OrderType, PlaceOrderRequest, Side  # noqa: PLC0415

    client = Client(base_url=base_url, httpx_args={"event_hooks": {"request": [_signer(key_id, secret)]}})
    instruments = list_instruments_v1_instruments_get.sync_detailed(client=client)
    btc = next(i for i in instruments.parsed.instruments if i.symbol == "BTC-USD")
    # A post-only buy at 1,000 USD (far below the demo book): it rests and never fills. The size is
    # the smallest on the lot grid whose value reaches min_notional (exact decimals, never float).
    tick, lot = Decimal(btc.tick_size), Decimal(btc.lot_size)
    price = (Decimal(1000) / tick).to_integral_value(ROUND_CEILING) * tick
    lots = max(Decimal(btc.min_quantity), Decimal(btc.min_notional) / price) / lot
    quantity = lots.to_integral_value(ROUND_CEILING) * lot
    order = PlaceOrderRequest(
        symbol="BTC-USD",
        side=Side.BUY,
        type_=OrderType.LIMIT,
        price=str(price),
        quantity=str(quantity),
        post_only=True,
        client_order_id=f"gen-{uuid.uuid4().hex[:12]}",
    )
    placed = place_order.sync_detailed(client=client, body=order)
    result: dict[str, Any] = {"placed": placed.status_code, "order": json.loads(placed.content)}
    if placed.status_code != 201:
        print(json.dumps(result))  # noqa: T201
        return 1
    order_id = result["order"]["order_id"]
    canceled = cancel_order.sync_detailed(order_id, client=client)
    result["cancel"] = canceled.status_code
    status = None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status = json.loads(get_order.sync_detailed(order_id, client=client).content).get("status")
        if status in ("CANCELED", "FILLED", "REJECTED"):
            break
        time.sleep(0.2)
    result["final_status"] = status
    print(json.dumps(result))  # noqa: T201
    return 0 if (canceled.status_code, status) == (202, "CANCELED") else 1


if __name__ == "__main__":
    sys.exit(main())
