"""The WebSocket API of the local runtime on the real template: signed $connect and @connections."""

from __future__ import annotations

import asyncio
import time
from urllib.parse import urlencode

import boto3
import pytest
import websockets
from trading.auth import sign, ws_string_to_sign

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def _signed_url(runtime) -> str:
    key = next(k for k in runtime.seeded if k.account_id == "alice")
    ts = time.time_ns() // 1_000_000
    query = {"key": key.key_id, "ts": str(ts), "sig": sign(key.secret, ws_string_to_sign(ts))}
    return f"{runtime.ws_url}/?{urlencode(query)}"


def test_connections_delivers_to_a_connected_client_and_410_for_a_gone_one(local_runtime):
    # Given the management endpoint the functions use (WS_MANAGEMENT_ENDPOINT from their env)
    endpoint = local_runtime.function_env("NotifyFunction")["WS_MANAGEMENT_ENDPOINT"]
    management = boto3.client("apigatewaymanagementapi", endpoint_url=endpoint, region_name="us-east-1")

    async def scenario():
        before = set(local_runtime.websocket.connections)
        async with websockets.connect(_signed_url(local_runtime), open_timeout=30) as ws:
            (connection_id,) = set(local_runtime.websocket.connections) - before
            # When a backend posts to the connection
            await asyncio.to_thread(
                management.post_to_connection, ConnectionId=connection_id, Data=b'{"hi":1}'
            )
            received = await asyncio.wait_for(ws.recv(), 30)
        return connection_id, received

    # Given a client connected with a signed $connect (the real ws_connect function)
    connection_id, received = asyncio.run(scenario())
    # Then the client received it
    assert received == '{"hi":1}'
    # And after the client left, the same post is a 410 GoneException
    with pytest.raises(management.exceptions.GoneException):
        management.post_to_connection(ConnectionId=connection_id, Data=b"late")


def test_an_unsigned_connect_is_refused(local_runtime):
    async def connect():
        async with websockets.connect(f"{local_runtime.ws_url}/", open_timeout=30):
            pass

    with pytest.raises(websockets.exceptions.InvalidStatus):
        asyncio.run(connect())
