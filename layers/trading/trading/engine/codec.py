"""The JSON wire format of engine commands (``orders.fifo`` bodies) and events.

This is the one implementation of the command format in ``docs/architecture.md``; intake
Lambdas encode with :func:`encode_command`, the matcher decodes with :func:`decode_command` and
publishes :func:`encode_event` / :func:`encode_events` output. Integers stay integers (prices and
quantities in instrument units); enums travel as their names.

Decoding is strict: malformed JSON -> ``MALFORMED_JSON``, unknown keys -> ``UNKNOWN_FIELD``, a
missing or mistyped field -> ``VALIDATION_ERROR``, all as :class:`CommandDecodeError` (a
``DomainError``). Booleans are never accepted where an integer is expected.
"""

from collections.abc import Callable
from typing import Any, Final

import orjson

from trading.domain.command_wire import compact_command
from trading.domain.enums import OrderType, Side, StpMode, TimeInForce
from trading.domain.errors import DomainError, ErrorCode
from trading.engine.commands import Amend, Cancel, Command, NewOrder
from trading.engine.events import EVENT_TYPES, CancelReason, Event, EventBase

_NEW_KEYS: Final = frozenset(
    {
        "type",
        "order_id",
        "account_id",
        "symbol",
        "side",
        "order_type",
        "price",
        "quantity",
        "quote_budget",
        "time_in_force",
        "post_only",
        "stp",
        "client_order_id",
        "hold",
        "hold_asset",
    }
)
_CANCEL_KEYS: Final = frozenset({"type", "order_id", "account_id", "symbol"})
_AMEND_KEYS: Final = frozenset({"type", "order_id", "account_id", "symbol", "price", "quantity"})

_SIDES: Final[dict[str, Side]] = {s.value: s for s in Side}
_ORDER_TYPES: Final[dict[str, OrderType]] = {t.value: t for t in OrderType}
_TIFS: Final[dict[str, TimeInForce]] = {t.value: t for t in TimeInForce}
_STPS: Final[dict[str, StpMode]] = {m.value: m for m in StpMode}
_GTC: Final = TimeInForce.GTC
_CANCEL_NEWEST: Final = StpMode.CANCEL_NEWEST
_ABSENT: Final = object()  # "key not in the message", as opposed to an explicit null
_loads: Final = orjson.loads
_dumps: Final = orjson.dumps


class CommandDecodeError(DomainError):
    """A wire message that is not a valid command."""


def _fail(message: str, code: ErrorCode = ErrorCode.VALIDATION_ERROR) -> CommandDecodeError:
    return CommandDecodeError(code, message)


def _text(obj: dict[str, Any], key: str) -> str:
    value = obj.get(key)
    if type(value) is not str or not value:
        raise _fail(f"{key} must be a non-empty string")
    return value


def _opt_int(obj: dict[str, Any], key: str) -> int | None:
    value = obj.get(key)
    if value is None or type(value) is int:
        return value
    raise _fail(f"{key} must be an integer or null")


def _enum(obj: dict[str, Any], key: str, values: dict[str, Any], default: Any = None) -> Any:
    raw = obj.get(key)
    if raw is None and default is not None:
        return default
    value = values.get(raw) if type(raw) is str else None
    if value is None:
        raise _fail(f"{key} must be one of {', '.join(values)}")
    return value


def _check_keys(obj: dict[str, Any], allowed: frozenset[str]) -> None:
    if not allowed.issuperset(obj):
        unknown = sorted(set(obj) - allowed)
        raise _fail(f"unknown field(s): {', '.join(unknown)}", ErrorCode.UNKNOWN_FIELD)


def _field(obj: dict[str, Any], key: str, default: Any) -> tuple[Any, int]:
    """``(value, 1)`` when ``key`` is in the message (even as null), else ``(default, 0)``."""
    value = obj.get(key, _ABSENT)
    return (default, 0) if value is _ABSENT else (value, 1)


def _enum_or(raw: Any, values: dict[str, Any], default: Any) -> Any:
    """An optional enum field: ``default`` when absent or null (as in the strict path), ``None``
    when not one of ``values``."""
    if raw is None:
        return default
    return values.get(raw) if type(raw) is str else None


def _decode_new_fast(obj: dict[str, Any]) -> NewOrder | None:
    """The common case: every field valid, optional ones absent or explicit. ``None`` sends
    anything else (a missing or mistyped field, an unknown key) to the strict path for its error.

    ``type``, the five required fields and the optional fields found make up every key the
    message may have, so when that count equals ``len(obj)`` there is no unknown key and no
    separate key-set check is needed.
    """
    try:
        order_id = obj["order_id"]
        account_id = obj["account_id"]
        symbol = obj["symbol"]
        side = _SIDES.get(obj["side"])
        order_type = _ORDER_TYPES.get(obj["order_type"])
    except (KeyError, TypeError):  # a missing key, or an unhashable value where an enum name belongs
        return None
    price, has_price = _field(obj, "price", None)
    quantity, has_quantity = _field(obj, "quantity", None)
    budget, has_budget = _field(obj, "quote_budget", None)
    client_order_id, has_client_order_id = _field(obj, "client_order_id", None)
    hold, has_hold = _field(obj, "hold", None)
    hold_asset, has_hold_asset = _field(obj, "hold_asset", None)
    post_only, has_post_only = _field(obj, "post_only", False)
    raw_tif, has_tif = _field(obj, "time_in_force", None)
    raw_stp, has_stp = _field(obj, "stp", None)
    tif: TimeInForce | None = _enum_or(raw_tif, _TIFS, _GTC)
    stp: StpMode | None = _enum_or(raw_stp, _STPS, _CANCEL_NEWEST)
    found = (
        6
        + has_price
        + has_quantity
        + has_budget
        + has_client_order_id
        + has_hold
        + has_hold_asset
        + has_post_only
        + has_tif
        + has_stp
    )
    if (
        found != len(obj)
        or type(order_id) is not str
        or not order_id
        or type(account_id) is not str
        or not account_id
        or type(symbol) is not str
        or not symbol
        or side is None
        or order_type is None
        or tif is None
        or stp is None
        or type(post_only) is not bool
        or (price is not None and type(price) is not int)
        or (quantity is not None and type(quantity) is not int)
        or (budget is not None and type(budget) is not int)
        or (client_order_id is not None and type(client_order_id) is not str)
        or (hold is not None and type(hold) is not int)
        or (hold_asset is not None and type(hold_asset) is not str)
    ):
        return None
    return NewOrder(
        order_id,
        account_id,
        symbol,
        side,
        order_type,
        price,
        quantity,
        tif,
        post_only,
        stp,
        budget,
        client_order_id,
        hold,
        hold_asset,
    )


def _decode_new(obj: dict[str, Any]) -> NewOrder:
    fast = _decode_new_fast(obj)
    return fast if fast is not None else _decode_new_strict(obj)


def _decode_new_strict(obj: dict[str, Any]) -> NewOrder:
    """Field by field, raising the first problem found (the fast path's answer for valid input)."""
    _check_keys(obj, _NEW_KEYS)
    post_only = obj.get("post_only", False)
    if type(post_only) is not bool:
        raise _fail("post_only must be a boolean")
    client_order_id = obj.get("client_order_id")
    if client_order_id is not None and type(client_order_id) is not str:
        raise _fail("client_order_id must be a string or null")
    hold_asset = obj.get("hold_asset")
    if hold_asset is not None and type(hold_asset) is not str:
        raise _fail("hold_asset must be a string or null")
    return NewOrder(
        _text(obj, "order_id"),
        _text(obj, "account_id"),
        _text(obj, "symbol"),
        _enum(obj, "side", _SIDES),
        _enum(obj, "order_type", _ORDER_TYPES),
        _opt_int(obj, "price"),
        _opt_int(obj, "quantity"),
        _enum(obj, "time_in_force", _TIFS, TimeInForce.GTC),
        post_only,
        _enum(obj, "stp", _STPS, StpMode.CANCEL_NEWEST),
        _opt_int(obj, "quote_budget"),
        client_order_id,
        _opt_int(obj, "hold"),
        hold_asset,
    )


def _decode_cancel(obj: dict[str, Any]) -> Cancel:
    _check_keys(obj, _CANCEL_KEYS)
    return Cancel(_text(obj, "order_id"), _text(obj, "account_id"), _text(obj, "symbol"))


def _decode_amend(obj: dict[str, Any]) -> Amend:
    _check_keys(obj, _AMEND_KEYS)
    return Amend(
        _text(obj, "order_id"),
        _text(obj, "account_id"),
        _text(obj, "symbol"),
        _opt_int(obj, "price"),
        _opt_int(obj, "quantity"),
    )


_DECODERS: dict[str, Callable[[dict[str, Any]], Command]] = {
    "new": _decode_new,
    "cancel": _decode_cancel,
    "amend": _decode_amend,
}


def decode_command(data: bytes | bytearray | memoryview | str) -> Command:
    """Parse one wire message into a command, or raise :class:`CommandDecodeError`."""
    try:
        obj = _loads(data)
    except orjson.JSONDecodeError as exc:
        raise _fail(f"not JSON: {exc}", ErrorCode.MALFORMED_JSON) from exc
    if type(obj) is not dict:
        raise _fail("a command must be a JSON object")
    kind = obj.get("type")
    if kind == "new":
        return _decode_new(obj)
    decoder = _DECODERS.get(kind) if type(kind) is str else None
    if decoder is None:
        raise _fail("type must be one of new, cancel, amend")
    return decoder(obj)


def command_to_dict(command: Command) -> dict[str, Any]:
    """The canonical wire shape: fields at their default left out (:mod:`trading.domain.command_wire`)."""
    return compact_command(command.to_dict())


def encode_command(command: Command) -> bytes:
    return orjson.dumps(command_to_dict(command))


# -- events ------------------------------------------------------------------------------------

_EVENT_ENUMS: dict[str, Callable[[Any], Any]] = {
    "side": Side,
    "maker_side": Side,
    "order_type": OrderType,
    "time_in_force": TimeInForce,
    "code": ErrorCode,
    "reason": CancelReason,
}


def event_to_dict(event: Event) -> dict[str, Any]:
    """``{"type": "<EventClass>", **fields}``; enums stay enums (orjson writes their value)."""
    return event.to_dict()


def encode_event(event: Event) -> bytes:
    return orjson.dumps(event_to_dict(event))


def encode_events(events: list[Event]) -> bytes:
    """A JSON array of events (what one command produced), in order."""
    dicts: list[dict[str, Any]] = []
    event: EventBase
    for event in events:
        dicts.append(event.to_dict())
    return _dumps(dicts)


def event_from_dict(obj: dict[str, Any]) -> Event:
    fields = dict(obj)
    cls = EVENT_TYPES[fields.pop("type")]
    for key, convert in _EVENT_ENUMS.items():
        if key in fields:
            fields[key] = convert(fields[key])
    return cls(**fields)


def decode_event(data: bytes | str) -> Event:
    obj = orjson.loads(data)
    return event_from_dict(obj)


def decode_events(data: bytes | str) -> list[Event]:
    return [event_from_dict(obj) for obj in orjson.loads(data)]
