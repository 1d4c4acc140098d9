"""The settle task of the settlement state machine, independent of Lambda.

Input is what the state machine passes on: the EventBridge ``TradeExecuted`` event (the rule's
target input), a list of such events (a batch), ``{"events": [...]}`` or ``{"trades": [...]}``
(details), or a bare detail. All trades of one input settle in one transaction. Failures come out
typed for the state machine: :class:`~trading.ledger.errors.TransientSettlementError` is retried
with backoff (``statemachines/settlement.asl.json``), :class:`PermanentSettlementError` and
transient failures that outlast the retries go to the settlement DLQ.
"""

from collections.abc import Mapping
from typing import Any

from trading.adapters.database import Borrow
from trading.domain.instruments import Instrument
from trading.ledger.errors import PermanentSettlementError, SettlementError, classify
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
    connect: Borrow,
    payload: Any,
    instruments: Mapping[str, Instrument] | None = None,
) -> SettlementResult:
    """Settle the input's trades in one transaction on a borrowed writer connection; raise only
    typed settlement errors. The connection goes back to the pool whatever happens; one the
    failure broke (failover, proxy timeout, terminated backend) is discarded there, so the next
    attempt gets a fresh one."""
    details = trade_details(payload)
    try:
        with connect() as conn:
            return settle_trades(conn, details, instruments)
    except SettlementError:
        raise
    except Exception as exc:
        raise classify(exc) from exc
