"""``@connections`` needs AWS SigV4, as in AWS (issue 13, finding 6): no reading, pushing or closing
a connection by knowing its id."""

from __future__ import annotations

import asyncio
import json

import boto3
import httpx
import pytest
import websockets
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

pytestmark = pytest.mark.xdist_group("localcloud")


def _signed(method: str, url: str, body: bytes, secret: str) -> dict[str, str]:
    request = AWSRequest(method=method, url=url, data=body)
    SigV4Auth(Credentials("testing", secret, "testing"), "execute-api", "us-east-1").add_auth(request)
    return dict(request.headers)


def test_unsigned_or_badly_signed_management_calls_are_403_and_do_nothing(demo_runtime):
    management = boto3.client(
        "apigatewaymanagementapi", endpoint_url=demo_runtime.urls.ws_management, region_name="us-east-1"
    )

    async def scenario():
        async with websockets.connect(f"{demo_runtime.urls.ws}/?token=ok", open_timeout=10) as ws:
            await ws.send(json.dumps({"action": "echo"}))
            connection_id = json.loads(await asyncio.wait_for(ws.recv(), 10))["connection_id"]
            url = f"{demo_runtime.urls.ws_management.rstrip('/')}/@connections/{connection_id}"
            # When someone who knows the id calls without a signature, with a forged one, with a
            # signature by the wrong secret, or with a valid one on another body
            forged = {"Authorization": "AWS4-HMAC-SHA256 Credential=x", "X-Amz-Date": "20261201T000000Z"}
            wrong_secret = _signed("POST", url, b'{"type":"filled"}', "not-the-secret")
            other_body = _signed("POST", url, b"harmless", "testing")
            async with httpx.AsyncClient(timeout=10) as http:
                answers = [
                    await http.post(url, content=b'{"type":"filled"}'),
                    await http.get(url),
                    await http.delete(url),
                    await http.post(url, content=b'{"type":"filled"}', headers=forged),
                    await http.post(url, content=b'{"type":"filled"}', headers=wrong_secret),
                    await http.post(url, content=b'{"type":"filled"}', headers=other_body),
                ]
            # Then (as a botocore-signed call proves the connection is live and the frame path works)
            await asyncio.to_thread(management.post_to_connection, ConnectionId=connection_id, Data=b"signed")
            first = await asyncio.wait_for(ws.recv(), 10)
        return answers, first

    answers, first = asyncio.run(scenario())
    # every unsigned or mis-signed call was refused 403 ForbiddenException
    assert [a.status_code for a in answers] == [403] * 6, [a.text for a in answers]
    assert {a.headers["x-amzn-ErrorType"] for a in answers} == {"ForbiddenException"}
    assert answers[0].json() == {"message": "Missing Authentication Token"}
    # and the client never saw a forged frame: the first frame it got is the signed one
    assert first == "signed"
