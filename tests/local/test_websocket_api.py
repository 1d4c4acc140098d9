"""The WebSocket API: $connect/$disconnect, route selection, and the @connections endpoint."""

from __future__ import annotations

import asyncio
import json
import time

import boto3
import pytest
import websockets
from websockets.exceptions import InvalidStatus

pytestmark = pytest.mark.xdist_group("localcloud")


def _management(runtime):
    return boto3.client(
        "apigatewaymanagementapi", endpoint_url=runtime.urls.ws_management, region_name=runtime.region
    )


async def _echo_roundtrip(url: str, message: dict) -> dict:
    async with websockets.connect(url, open_timeout=10) as ws:
        await ws.send(json.dumps(message))
        return json.loads(await asyncio.wait_for(ws.recv(), 10))


def test_a_route_selected_by_action_answers_through_connections(demo_runtime):
    # Given a client connected with the query string its $connect accepts
    url = f"{demo_runtime.urls.ws}/?token=ok"
    # When it sends {"action": "echo"} (route selection $request.body.action)
    reply = asyncio.run(_echo_roundtrip(url, {"action": "echo", "n": 1}))
    # Then the route's function pushed the answer back through the @connections endpoint
    assert reply["echo"] == {"action": "echo", "n": 1}
    assert reply["connection_id"]


def test_connect_is_refused_when_the_connect_function_answers_non_2xx(demo_runtime):
    # Given a query string the $connect function rejects
    async def connect():
        async with websockets.connect(f"{demo_runtime.urls.ws}/?token=wrong", open_timeout=10):
            pass

    # When a client connects
    # Then the upgrade is refused
    with pytest.raises(InvalidStatus) as refused:
        asyncio.run(connect())
    assert refused.value.response.status_code == 403


def test_an_action_without_route_or_default_gets_forbidden(demo_runtime):
    # Given the test template has no $default route
    # When an unknown action is sent
    reply = asyncio.run(_echo_roundtrip(f"{demo_runtime.urls.ws}/?token=ok", {"action": "nope"}))
    # Then API Gateway's message comes back
    assert reply["message"] == "Forbidden"


def test_connections_delivers_to_a_connected_client_and_410_for_a_gone_one(demo_runtime):
    management = _management(demo_runtime)

    async def scenario():
        async with websockets.connect(f"{demo_runtime.urls.ws}/?token=ok", open_timeout=10) as ws:
            await ws.send(json.dumps({"action": "echo"}))
            connection_id = json.loads(await asyncio.wait_for(ws.recv(), 10))["connection_id"]
            # When the backend posts to the live connection (boto3 in a worker thread)
            await asyncio.to_thread(management.post_to_connection, ConnectionId=connection_id, Data=b"pushed")
            pushed = await asyncio.wait_for(ws.recv(), 10)
            info = await asyncio.to_thread(management.get_connection, ConnectionId=connection_id)
        return connection_id, pushed, info

    # Given a connected client
    connection_id, pushed, info = asyncio.run(scenario())
    # Then it received the data, and GET @connections described it
    assert pushed == "pushed"
    assert info["Identity"]["SourceIp"] == "127.0.0.1"
    # And once the client is gone, posting is a GoneException (410)
    with pytest.raises(management.exceptions.GoneException) as gone:
        management.post_to_connection(ConnectionId=connection_id, Data=b"late")
    assert gone.value.response["ResponseMetadata"]["HTTPStatusCode"] == 410
    # And $disconnect ran
    table = boto3.resource(
        "dynamodb", endpoint_url=demo_runtime.moto.endpoint, region_name="us-east-1"
    ).Table(demo_runtime.physical_ids["EventsTable"])
    deadline = time.monotonic() + 10
    while table.get_item(Key={"pk": f"disconnect#{connection_id}"}).get("Item") is None:
        assert time.monotonic() < deadline, "$disconnect was not invoked"
        time.sleep(0.1)


def test_delete_connection_closes_the_socket(demo_runtime):
    management = _management(demo_runtime)

    async def scenario():
        async with websockets.connect(f"{demo_runtime.urls.ws}/?token=ok", open_timeout=10) as ws:
            await ws.send(json.dumps({"action": "echo"}))
            connection_id = json.loads(await asyncio.wait_for(ws.recv(), 10))["connection_id"]
            # When the backend deletes the connection
            await asyncio.to_thread(management.delete_connection, ConnectionId=connection_id)
            # Then the client sees the socket close
            with pytest.raises(websockets.ConnectionClosed):
                await asyncio.wait_for(ws.recv(), 10)
        return connection_id

    connection_id = asyncio.run(scenario())
    with pytest.raises(management.exceptions.GoneException):
        management.get_connection(ConnectionId=connection_id)
