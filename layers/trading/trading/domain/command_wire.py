"""The canonical shape of an ``orders.fifo`` command message: fields at their default left out.

Intake (``trading.adapters.orders_queue``) and the engine's codec (``trading.engine.codec``)
both write commands; this is the one rule they share, so every message on the queue has the same
form. A typical limit order then carries 8 keys instead of 13, which makes the message and, more
to the point, its decoding in the matcher's hot loop cheaper (see ``docs/performance.md``).
Decoders accept the full form too: an absent field and an explicit ``null`` both mean the default.
"""

from collections.abc import Mapping
from typing import Any, Final

from trading.domain.enums import StpMode, TimeInForce

COMMAND_DEFAULTS: Final[Mapping[str, Any]] = {
    "price": None,
    "quantity": None,
    "quote_budget": None,
    "time_in_force": TimeInForce.GTC,
    "post_only": False,
    "stp": StpMode.CANCEL_NEWEST,
    "client_order_id": None,
    "hold": None,
    "hold_asset": None,
}


def _is_default(key: str, value: Any) -> bool:
    if key not in COMMAND_DEFAULTS:
        return False
    default = COMMAND_DEFAULTS[key]
    # ``is`` for None and the booleans: 0 == False, and a price of 0 is not "no price".
    return value is default if default is None or type(default) is bool else value == default


def compact_command(command: Mapping[str, Any]) -> dict[str, Any]:
    """``command`` without the optional fields that hold their default."""
    return {key: value for key, value in command.items() if not _is_default(key, value)}
