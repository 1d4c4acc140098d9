"""The double-entry ledger: transfers, settlement, hold release and reconciliation (docs/ledger.md).

Every function takes a psycopg2 connection and runs inside the caller's transaction.
"""

from trading.ledger.errors import PermanentSettlementError, SettlementError, TransientSettlementError
from trading.ledger.holds import release_hold, release_if_settled, release_locked
from trading.ledger.models import TradeExecuted
from trading.ledger.orders import archive_order, sweep_holds
from trading.ledger.reconcile import ReconciliationReport, reconcile
from trading.ledger.settlement import SettlementResult, settle_trades
from trading.ledger.transfers import Direction, TransferResult, post_transfer

__all__ = [
    "Direction",
    "PermanentSettlementError",
    "ReconciliationReport",
    "SettlementError",
    "SettlementResult",
    "TradeExecuted",
    "TransferResult",
    "TransientSettlementError",
    "archive_order",
    "post_transfer",
    "reconcile",
    "release_hold",
    "release_if_settled",
    "release_locked",
    "settle_trades",
    "sweep_holds",
]
