"""Real-time delivery over the WebSocket API.

Connections and their subscriptions live in the ``Connections`` table; the ``ws_*`` Lambdas manage
them, and ``notify`` turns matcher events from the notifications queue into channel messages and
pushes them through the API Gateway ``@connections`` endpoint. ``docs/websocket.md`` is the
client-facing protocol.
"""
