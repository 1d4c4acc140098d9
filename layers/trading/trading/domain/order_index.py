"""The ``Orders`` attribute that keys the per-account state index (docs/architecture.md).

Every writer of an order's ``status`` (intake, the matcher, the PENDING sweeper) writes
``account_state`` with it, so ``GET /v1/orders?open=true`` and ``?status=...`` read full pages of
exactly the matching orders from the ``by-account-state`` index (with ``created_at``) instead of
filtering a page of every order:

* ``<account_id>#LIVE`` while the order is not terminal (``PENDING``, ``OPEN``,
  ``PARTIALLY_FILLED``): one partition holds an account's open orders, newest first;
* ``<account_id>#<STATUS>`` once terminal (``FILLED``, ``CANCELED``, ``REJECTED``).

One index, not one per use: CloudFormation adds at most one GSI to a table per stack update.
"""

from __future__ import annotations

from trading.domain.enums import OrderStatus

BY_ACCOUNT_STATE_INDEX = "by-account-state"
ACCOUNT_STATE = "account_state"
LIVE = "LIVE"
LIVE_STATUSES = (OrderStatus.PENDING, OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED)


def account_state(account_id: str, status: OrderStatus | str) -> str:
    """The index partition of an order of ``account_id`` in ``status``."""
    status = OrderStatus(status)
    return f"{account_id}#{LIVE if not status.is_terminal else status.value}"


def live_partition(account_id: str) -> str:
    return f"{account_id}#{LIVE}"
