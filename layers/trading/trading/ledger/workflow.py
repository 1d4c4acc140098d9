"""The settle task of the settlement state machine, independent of Lambda.

Input is what the state machine passes on: the EventBridge ``TradeExecuted`` event (the rule's
target input), a list of such events (a batch), ``{"events": [...]}`` or ``{"trades": [...]}``
(details), or a bare detail. All trades of one input settle in one transaction. Failures come out
typed for the state machine: :class:`TransientSettlementError` is retried,
:class:`PermanentSettlementError` goes to the settlement DLQ.
"""

from collections.abc import Callable, Mapping
from typing import Any

from psycopg2.extensions import connection

from trading.domain.instruments import Instrument
from trading.ledger.errors import (
    PermanentSettlementError,
    SettlementError,
    TransientSettlementError,
    classify,
)
from trading.ledger.settlement import SettlementResult, settle_trades

TRADE_EXECUTED = "TradeExecuted"


def trade_details(payload: Any) -> list[Mapping[str, Any]]:
    """The ``TradeExecuted`` details carried by a settle input (see the module docstring)."""
    if isinstance(payload, list):
        return [detail for item in payload for detail in trade_details(item)]
    if not isinstance(payload, Mapping):
        raise PermanentSettlementError(
            f"settle input must be an object or a list, not {type(payload).__name__}"
        )
    if "detail" in payload:
        kind = payload.get("detail-type", TRADE_EXECUTED)
        if kind != TRADE_EXECUTED:
            raise PermanentSettlementError(f"settle got a {kind!r} event, expected {TRADE_EXECUTED}")
        detail = payload["detail"]
        if not isinstance(detail, Mapping):
            raise PermanentSettlementError("event detail must be an object")
        return [detail]
    for key in ("events", "trades"):
        if key in payload:
            return trade_details(list(payload[key]))
    if "trade_id" in payload:
        return [payload]
    raise PermanentSettlementError("settle input carries no TradeExecuted event")


def run_settlement(
    connect: Callable[[], connection],
    payload: Any,
    instruments: Mapping[str, Instrument] | None = None,
) -> SettlementResult:
    """Settle the input's trades in one transaction; raise only typed settlement errors."""
    details = trade_details(payload)
    conn: connection | None = None
    try:
        conn = connect()
        with conn:
            return settle_trades(conn, details, instruments)
    except SettlementError:
        raise
    except Exception as exc:
        typed = classify(exc)
        if isinstance(typed, TransientSettlementError) and conn is not None and not conn.closed:
            # The session may be broken (failover, proxy timeout): the next attempt reconnects.
            conn.close()
        raise typed from exc
