"""The WebSocket API (API Gateway v2 semantics) and its ``@connections`` management endpoint.

One Starlette app (served by uvicorn, whose WebSocket protocol is the ``websockets`` library):

* ``ws://host:port/`` (any path): ``$connect`` gets the query string and headers; a non-2xx
  result or an error refuses the upgrade with HTTP 403. Each text frame is routed with the
  template's ``RouteSelectionExpression`` (``$request.body.action``) to the route's function, or
  to ``$default``; without a match the client gets API Gateway's ``Forbidden`` message. Closing
  (either side) invokes ``$disconnect``. Messages of one connection are handled in order.
* ``POST/GET/DELETE /<stage>/@connections/{id}`` (also without the stage): what boto3's
  ``apigatewaymanagementapi`` calls with ``endpoint_url=WS_MANAGEMENT_ENDPOINT``. Unknown or closed
  connections answer ``410 GoneException``. As in AWS (IAM auth), a request must carry an AWS
  SigV4 ``Authorization`` header, else ``403 ForbiddenException``; for the access keys the runtime
  hands its functions (``credentials``) the signature itself is verified too (``403`` on mismatch).
Route responses (``RouteResponseSelectionExpression``) are not emulated: the template declares none.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from localcloud.lambdas import FunctionError, LambdaRunner

_log = logging.getLogger(__name__)


@dataclass
class Connection:
    connection_id: str
    websocket: WebSocket
    source_ip: str
    user_agent: str | None
    connected_at: float = field(default_factory=time.time)
    last_active_at: float = field(default_factory=time.time)
    send_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    disconnected: bool = False


def _gone(connection_id: str) -> Response:
    return JSONResponse(
        {"message": f"Connection {connection_id} is gone"},
        status_code=410,
        headers={"x-amzn-ErrorType": "GoneException"},
    )


_SIGV4 = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/,\s]+)/(?P<date>[0-9]{8})/(?P<region>[^/,\s]+)/"
    r"(?P<service>[^/,\s]+)/aws4_request, ?SignedHeaders=(?P<headers>[a-z0-9;._-]+), ?"
    r"Signature=(?P<signature>[0-9a-f]{64})"
)
_AMZ_DATE = re.compile(r"[0-9]{8}T[0-9]{6}Z")


def _forbidden(message: str) -> Response:
    return JSONResponse(
        {"message": message}, status_code=403, headers={"x-amzn-ErrorType": "ForbiddenException"}
    )


def sigv4_problem(  # noqa: PLR0911 - one answer per way a signature can be wrong
    method: str, url: str, headers: Mapping[str, str], body: bytes, credentials: Mapping[str, str]
) -> str | None:
    """Why a management request is not SigV4-signed (None: it is).

    The ``Authorization`` header must be AWS4-HMAC-SHA256 with credential scope, signed headers and
    signature. When the access key is one of ``credentials`` (key id -> secret) the signature is
    recomputed with botocore over the request as received and must match.
    """
    authorization = headers.get("authorization")
    if not authorization:
        return "Missing Authentication Token"
    found = _SIGV4.fullmatch(authorization.strip())
    if found is None:
        return "Authorization header requires AWS4-HMAC-SHA256 Credential, SignedHeaders and Signature"
    signed = found["headers"].split(";")
    if "host" not in signed or "x-amz-date" not in signed:
        return "Authorization header requires 'host' and 'x-amz-date' among the SignedHeaders"
    amz_date = headers.get("x-amz-date", "")
    if _AMZ_DATE.fullmatch(amz_date) is None or amz_date[:8] != found["date"]:
        return "X-Amz-Date is missing or does not match the credential scope"
    secret = credentials.get(found["key"])
    if secret is None:
        return None  # an access key this runtime does not know: the format is all it can check
    request = AWSRequest(method=method, url=url, data=body, headers={h: headers.get(h, "") for h in signed})
    request.context["timestamp"] = amz_date
    auth = SigV4Auth(Credentials(found["key"], secret), found["service"], found["region"])
    expected = auth.signature(auth.string_to_sign(request, auth.canonical_request(request)), request)
    if expected != found["signature"]:
        return "The request signature we calculated does not match the signature you provided"
    return None


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat().replace("+00:00", "Z")


class WebSocketGateway:
    def __init__(
        self,
        runner: LambdaRunner,
        routes: dict[str, str],
        route_selection: str = "$request.body.action",
        stage: str = "ws",
        api_id: str = "local-ws",
        *,
        credentials: Mapping[str, str] | None = None,
    ) -> None:
        self.runner = runner
        self.routes = routes
        self.selection_path = route_selection.removeprefix("$request.body.").split(".")
        self.stage = stage
        self.api_id = api_id
        self.connections: dict[str, Connection] = {}
        # Access key id -> secret of the credentials the runtime gives its functions
        self.credentials = dict(credentials if credentials is not None else _runtime_credentials())

    def app(self) -> Starlette:
        manage = ["POST", "GET", "DELETE"]
        return Starlette(
            routes=[
                Route("/{stage}/@connections/{connection_id}", self.manage, methods=manage),
                Route("/@connections/{connection_id}", self.manage, methods=manage),
                WebSocketRoute("/{path:path}", self.session),
            ]
        )

    # -- events ----------------------------------------------------------------------------------
    def _context(
        self, route_key: str, event_type: str, connection: Connection, **extra: Any
    ) -> dict[str, Any]:
        now = time.time()
        return {
            "routeKey": route_key,
            "eventType": event_type,
            "extendedRequestId": uuid.uuid4().hex[:16],
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "messageDirection": "IN",
            "stage": self.stage,
            "connectedAt": int(connection.connected_at * 1000),
            "requestTimeEpoch": int(now * 1000),
            "identity": {"sourceIp": connection.source_ip, "userAgent": connection.user_agent},
            "requestId": str(uuid.uuid4()),
            "domainName": "localhost",
            "connectionId": connection.connection_id,
            "apiId": self.api_id,
            **extra,
        }

    async def _call(self, route_key: str, event: dict[str, Any]) -> Any:
        function_id = self.routes.get(route_key)
        if function_id is None:
            return None
        return await run_in_threadpool(self.runner.invoke, function_id, event)

    # -- WebSocket sessions ----------------------------------------------------------------------
    async def session(self, websocket: WebSocket) -> None:
        client = websocket.client
        connection = Connection(
            connection_id=uuid.uuid4().hex[:12] + "=",
            websocket=websocket,
            source_ip=client.host if client else "127.0.0.1",
            user_agent=websocket.headers.get("user-agent"),
        )
        if not await self._connect(websocket, connection):
            await websocket.close(code=1008)
            return
        # Registered before the 101 goes out: once the client is connected, @connections knows it.
        self.connections[connection.connection_id] = connection
        await websocket.accept()
        status, reason = 1000, "Client closed"
        try:
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    status = int(message.get("code") or 1005)
                    break
                text = message.get("text")
                if text is None and message.get("bytes") is not None:
                    text = message["bytes"].decode(errors="replace")
                if text is not None:
                    connection.last_active_at = time.time()
                    await self._message(connection, text)
        except WebSocketDisconnect as closed:
            status = closed.code
        except RuntimeError:
            status, reason = 1001, "Going away"
        finally:
            self.connections.pop(connection.connection_id, None)
            await self._disconnect(connection, status, reason)

    async def _connect(self, websocket: WebSocket, connection: Connection) -> bool:
        headers = {k: v for k, v in websocket.headers.items()}
        query: dict[str, str] = {}
        multi_query: dict[str, list[str]] = {}
        for key, value in websocket.query_params.multi_items():
            query[key] = value
            multi_query.setdefault(key, []).append(value)
        event = {
            "headers": headers,
            "multiValueHeaders": {k: [v] for k, v in headers.items()},
            "queryStringParameters": query or None,
            "multiValueQueryStringParameters": multi_query or None,
            "requestContext": self._context("$connect", "CONNECT", connection),
            "isBase64Encoded": False,
        }
        try:
            result = await self._call("$connect", event)
        except FunctionError:
            return False
        if isinstance(result, dict) and "statusCode" in result:
            return 200 <= int(result["statusCode"]) < 300
        return True

    async def _message(self, connection: Connection, text: str) -> None:
        route_key = "$default"
        try:
            selected: Any = json.loads(text)
            for part in self.selection_path:
                selected = selected.get(part) if isinstance(selected, dict) else None
            if isinstance(selected, str) and selected in self.routes:
                route_key = selected
        except json.JSONDecodeError:
            pass
        context = self._context(route_key, "MESSAGE", connection, messageId=uuid.uuid4().hex[:12] + "=")
        if route_key not in self.routes:
            await self._send(
                connection,
                json.dumps(
                    {
                        "message": "Forbidden",
                        "connectionId": connection.connection_id,
                        "requestId": context["requestId"],
                    }
                ),
            )
            return
        try:
            await self._call(route_key, {"requestContext": context, "body": text, "isBase64Encoded": False})
        except FunctionError:
            await self._send(
                connection,
                json.dumps(
                    {
                        "message": "Internal server error",
                        "connectionId": connection.connection_id,
                        "requestId": context["requestId"],
                    }
                ),
            )

    async def _disconnect(self, connection: Connection, status: int, reason: str) -> None:
        if connection.disconnected:
            return
        connection.disconnected = True
        context = self._context(
            "$disconnect", "DISCONNECT", connection, disconnectStatusCode=status, disconnectReason=reason
        )
        with contextlib.suppress(FunctionError):
            await self._call("$disconnect", {"requestContext": context, "isBase64Encoded": False})

    async def _send(self, connection: Connection, text: str) -> None:
        async with connection.send_lock:
            await connection.websocket.send_text(text)

    # -- @connections ----------------------------------------------------------------------------
    async def manage(self, request: Request) -> Response:
        data = await request.body()
        raw_path = request.scope.get("raw_path") or request.url.path.encode()
        query = request.scope.get("query_string") or b""
        url = f"{request.url.scheme}://{request.headers.get('host', '')}{raw_path.decode('latin-1')}"
        url += f"?{query.decode('latin-1')}" if query else ""
        problem = sigv4_problem(request.method, url, request.headers, data, self.credentials)
        if problem is not None:
            return _forbidden(problem)
        connection_id = request.path_params["connection_id"]
        connection = self.connections.get(connection_id)
        if connection is None:
            return _gone(connection_id)
        if request.method == "GET":
            return JSONResponse(
                {
                    "connectedAt": _iso(connection.connected_at),
                    "lastActiveAt": _iso(connection.last_active_at),
                    "identity": {"sourceIp": connection.source_ip, "userAgent": connection.user_agent},
                }
            )
        if request.method == "DELETE":
            self.connections.pop(connection_id, None)
            with contextlib.suppress(RuntimeError):
                await connection.websocket.close(code=1000)
            await self._disconnect(connection, 1000, "Closed by @connections DELETE")
            return Response(status_code=204)
        try:
            async with connection.send_lock:
                await connection.websocket.send_text(data.decode(errors="replace"))
        except (RuntimeError, WebSocketDisconnect, OSError):
            self.connections.pop(connection_id, None)
            return _gone(connection_id)
        return Response(status_code=200)


def _runtime_credentials() -> dict[str, str]:
    from localcloud.moto_cloud import AWS_ENV  # noqa: PLC0415 - keep this module free of moto at import

    return {AWS_ENV["AWS_ACCESS_KEY_ID"]: AWS_ENV["AWS_SECRET_ACCESS_KEY"]}
