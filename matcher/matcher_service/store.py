"""DynamoDB side of the matcher: recovery reads and the one-transaction batch commit.

Item layout (docs/architecture.md, docs/matcher.md):

* ``Orders``: the matcher sets ``status``, ``filled_quantity``, ``remaining_quantity``,
  ``quantity``, ``price``, ``seq`` (last seq that changed the order), ``priority_seq`` (place in
  its level's queue), ``updated_at``; ``commands`` is the string set of cancel/amend command ids
  applied to the order (the exactly-once marker of those commands; a new order's marker is its
  status leaving ``PENDING``). ``book_symbol`` exists only while the order rests: it keys the
  sparse ``by-book`` index that recovery queries. ``account_state`` (written with every status)
  keys the per-account ``by-account-state`` index that ``GET /v1/orders`` reads
  (``trading.domain.order_index``).
* ``OrderBooks``: ``checkpoint`` (``seq``, ``resting`` = how many orders rest after that seq),
  ``level#<SIDE>#<price:020d>`` (``quantity``, ``seq``) and ``outbox#<first seq:020d>``
  (``events`` JSON, optional ``deferred`` JSON writes).
"""

import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError
from trading.domain.enums import InstrumentStatus, OrderStatus, OrderType, Side, StpMode, TimeInForce
from trading.domain.instruments import Instrument
from trading.domain.order_index import ACCOUNT_STATE, account_state

from matcher_service.model import RESTING, EventRecord, LevelWrite, OrderView, OrderWrite, Outcome

log = logging.getLogger(__name__)

TRANSACT_LIMIT = 100  # TransactWriteItems items per call
BY_BOOK_INDEX = "by-book"  # sparse GSI of OrdersTable: book_symbol (HASH), priority_seq (RANGE)
# The index is eventually consistent; recovery re-queries this long before scanning the table.
INDEX_WAIT_SECONDS = (0.05, 0.1, 0.2, 0.4, 0.8, 1.6)
OUTBOX_CHUNK_BYTES = 300_000  # an item is at most 400 KB
CHECKPOINT = "checkpoint"
OUTBOX_PREFIX = "outbox#"


def level_key(side: Side, price: int) -> str:
    return f"level#{side.value}#{price:020d}"


def outbox_key(seq: int) -> str:
    return f"{OUTBOX_PREFIX}{seq:020d}"


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _n(value: int) -> dict[str, str]:
    return {"N": str(value)}


_DECODERS: dict[str, Callable[[Any], Any]] = {
    "S": str,
    "N": int,
    "BOOL": bool,
    "NULL": lambda _: None,
    "SS": set,
    "L": lambda value: [_plain(v) for v in value],
    "M": lambda value: {k: _plain(v) for k, v in value.items()},
}


def _plain(attr: dict[str, Any]) -> Any:
    """A DynamoDB attribute value to Python (numbers are ints: the tables hold no fractions)."""
    (kind, value), *_ = attr.items()
    return _DECODERS[kind](value)


def plain_item(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _plain(v) for k, v in item.items()}


class CommitRejectedError(Exception):
    """The transaction was cancelled: fenced by the checkpoint, or a command was already applied."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__(", ".join(reasons))
        self.reasons = reasons


@dataclass(frozen=True)
class Checkpoint:
    seq: int  # the last seq committed for the symbol (0: nothing yet)
    resting: int | None  # orders resting after it; None for a checkpoint written before the count


@dataclass
class OutboxItem:
    symbol: str
    sk: str
    events: list[EventRecord]
    deferred: list[dict[str, Any]]
    created_ms: int
    token: str = ""  # the commit attempt that wrote it (an unknown outcome republishes only its own)


@dataclass
class PreparedCommit:
    """The outcome split into the atomic transaction and the (rare) deferred writes."""

    transact_items: list[dict[str, Any]]
    outbox: list[OutboxItem]
    deferred: list[dict[str, Any]]


def view_from_item(item: dict[str, Any]) -> OrderView:
    price = item.get("price")
    return OrderView(
        order_id=item["order_id"],
        account_id=item["account_id"],
        symbol=item["symbol"],
        side=Side(item["side"]),
        order_type=OrderType(item.get("order_type", "LIMIT")),
        price=None if price is None else int(price),
        quantity=int(item.get("quantity", 0)),
        filled=int(item.get("filled_quantity", 0)),
        remaining=int(item.get("remaining_quantity", 0)),
        status=OrderStatus(item["status"]),
        priority_seq=int(item.get("priority_seq", item.get("seq", 0))),
        seq=int(item.get("seq", 0)),
        stp=StpMode(item.get("stp", StpMode.CANCEL_NEWEST.value)),
        post_only=bool(item.get("post_only", False)),
        time_in_force=TimeInForce(item.get("time_in_force", TimeInForce.GTC.value)),
        client_order_id=item.get("client_order_id"),
        hold_left=None if item.get("hold_left") is None else int(item["hold_left"]),
    )


def _view_attributes(view: OrderView, now_iso: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The attributes the matcher owns (always set) and the static ones (set if absent)."""
    fields: dict[str, Any] = {
        "status": _s(view.status.value),
        "filled_quantity": _n(view.filled),
        "remaining_quantity": _n(view.remaining),
        "seq": _n(view.seq),
        "updated_at": _s(now_iso),
        # keys the per-account state index with the status (trading.domain.order_index)
        ACCOUNT_STATE: _s(account_state(view.account_id, view.status)),
    }
    if view.price is not None:
        fields["price"] = _n(view.price)
    if view.amended:
        fields["quantity"] = _n(view.quantity)
    if view.hold_left is not None:
        fields["hold_left"] = _n(view.hold_left)
    if view.resting:
        fields["priority_seq"] = _n(view.priority_seq)
        fields["book_symbol"] = _s(view.symbol)
    if view.reject_code is not None:
        fields["reject_code"] = _s(view.reject_code)
    static: dict[str, Any] = {
        "account_id": _s(view.account_id),
        "symbol": _s(view.symbol),
        "side": _s(view.side.value),
        "order_type": _s(view.order_type.value),
        "time_in_force": _s(view.time_in_force.value),
        "stp": _s(view.stp.value),
        "post_only": {"BOOL": view.post_only},
        "created_at": _s(now_iso),
        # intake's quantity stays (a budget-only market buy has none; the engine bounds it by
        # max_quantity, which is not what the client asked for); an amend overwrites it
        "quantity": _n(view.quantity),
    }
    if view.client_order_id is not None:
        static["client_order_id"] = _s(view.client_order_id)
    if view.amended or view.budget_only:
        del static["quantity"]  # set above (one path once per update), or none to store
    return fields, static


def _order_update(
    table: str, write: OrderWrite, now_iso: str, *, fenced_by_seq: bool = False
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The ``Update`` for one Orders item (for a transaction) and its JSON-able deferred form."""
    names: dict[str, str] = {}
    values: dict[str, Any] = {}
    sets: list[str] = []
    conditions: list[str] = []
    view = write.view
    if view is not None:
        fields, static = _view_attributes(view, now_iso)
        for i, (name, value) in enumerate(fields.items()):
            names[f"#f{i}"], values[f":f{i}"] = name, value
            sets.append(f"#f{i} = :f{i}")
        for i, (name, value) in enumerate(static.items()):
            names[f"#s{i}"], values[f":s{i}"] = name, value
            sets.append(f"#s{i} = if_not_exists(#s{i}, :s{i})")
        if fenced_by_seq:
            names["#oseq"], values[":oseq"] = "seq", _n(view.seq)
            conditions.append("(attribute_not_exists(#oseq) OR #oseq < :oseq)")
    if write.new_order:
        names["#st"] = "status"
        values[":pending"] = _s(OrderStatus.PENDING.value)
        conditions.append("(attribute_not_exists(order_id) OR #st = :pending)")
    expression = ""
    if sets:
        expression = "SET " + ", ".join(sets)
    if view is not None and not view.resting:
        names["#book"] = "book_symbol"  # off the by-book index once it stops resting
        expression += " REMOVE #book"
    if write.command_ids:
        names["#cmds"] = "commands"
        values[":cmds"] = {"SS": list(write.command_ids)}
        expression += " ADD #cmds :cmds"
        conditions.append("attribute_exists(order_id)")
        for i, command_id in enumerate(write.command_ids):
            values[f":c{i}"] = _s(command_id)
            conditions.append(f"NOT contains(#cmds, :c{i})")
    update: dict[str, Any] = {
        "TableName": table,
        "Key": {"order_id": _s(write.order_id)},
        "UpdateExpression": expression.strip(),
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
    }
    if conditions:
        update["ConditionExpression"] = " AND ".join(conditions)
    return update, {"kind": "order", "update": update}


def _level_write(table: str, symbol: str, level: LevelWrite) -> dict[str, Any]:
    key = {"symbol": _s(symbol), "sk": _s(level_key(level.side, level.price))}
    if level.quantity == 0:
        return {"Delete": {"TableName": table, "Key": key}}
    item = {
        **key,
        "side": _s(level.side.value),
        "price": _n(level.price),
        "quantity": _n(level.quantity),
        "seq": _n(level.seq),
    }
    return {"Put": {"TableName": table, "Item": item}}


def _deferred_level(table: str, symbol: str, level: LevelWrite) -> dict[str, Any]:
    op = _level_write(table, symbol, level)
    body = next(iter(op.values()))
    body["ConditionExpression"] = "attribute_not_exists(#seq) OR #seq < :seq"
    body["ExpressionAttributeNames"] = {"#seq": "seq"}
    body["ExpressionAttributeValues"] = {":seq": _n(level.seq)}
    return {"kind": "level", "op": op}


def _chunks(symbol: str, events: list[EventRecord], deferred: list[dict[str, Any]]) -> list[OutboxItem]:
    """Pack the events into outbox items under the item size limit (deferred writes go first)."""
    now_ms = int(time.time() * 1000)
    items: list[OutboxItem] = []
    size = len(json.dumps(deferred))
    current: list[EventRecord] = []
    for record in events:
        record_size = len(json.dumps(record.detail)) + 32
        if current and size + record_size > OUTBOX_CHUNK_BYTES:
            items.append(OutboxItem(symbol, outbox_key(current[0].seq), current, [], now_ms))
            current, size = [], 0
        current.append(record)
        size += record_size
    if current:
        items.append(OutboxItem(symbol, outbox_key(current[0].seq), current, [], now_ms))
    if items:
        items[0].deferred = deferred
    return items


class BookStore:
    def __init__(
        self,
        client: Any,
        orders_table: str,
        books_table: str,
        instruments_table: str,
        *,
        transact_limit: int = TRANSACT_LIMIT,
    ) -> None:
        self._ddb = client
        self.transact_limit = transact_limit  # lowered only by tests, to reach the split cheaply
        self.orders_table = orders_table
        self.books_table = books_table
        self.instruments_table = instruments_table

    # -- reads ----------------------------------------------------------------------------------

    def _scan(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        paginator = self._ddb.get_paginator("scan")
        for page in paginator.paginate(**kwargs):
            for item in page.get("Items", []):
                yield plain_item(item)

    def _query(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        paginator = self._ddb.get_paginator("query")
        for page in paginator.paginate(**kwargs):
            for item in page.get("Items", []):
                yield plain_item(item)

    @staticmethod
    def _instrument(item: dict[str, Any]) -> Instrument:
        fields = set(Instrument.model_fields)
        return Instrument.model_validate({k: v for k, v in item.items() if k in fields})

    def load_instruments(self) -> dict[str, Instrument]:
        instruments = {}
        for item in self._scan(TableName=self.instruments_table, ConsistentRead=True):
            instrument = self._instrument(item)
            instruments[instrument.symbol] = instrument
        return instruments

    def get_instrument(self, symbol: str) -> Instrument | None:
        got = self._ddb.get_item(
            TableName=self.instruments_table, Key={"symbol": _s(symbol)}, ConsistentRead=True
        )
        return self._instrument(plain_item(got["Item"])) if "Item" in got else None

    def instrument_statuses(self, symbols: Iterable[str]) -> dict[str, InstrumentStatus]:
        keys = [{"symbol": _s(s)} for s in sorted(set(symbols))]
        statuses: dict[str, InstrumentStatus] = {}
        for start in range(0, len(keys), 100):
            request = {
                self.instruments_table: {
                    "Keys": keys[start : start + 100],
                    "ProjectionExpression": "symbol, #s",
                    "ExpressionAttributeNames": {"#s": "status"},
                }
            }
            while request:
                got = self._ddb.batch_get_item(RequestItems=request)
                for item in got["Responses"].get(self.instruments_table, []):
                    plain = plain_item(item)
                    statuses[plain["symbol"]] = InstrumentStatus(plain.get("status", "TRADING"))
                request = got.get("UnprocessedKeys") or {}
        return statuses

    def load_checkpoint(self, symbol: str) -> Checkpoint:
        got = self._ddb.get_item(
            TableName=self.books_table, Key={"symbol": _s(symbol), "sk": _s(CHECKPOINT)}, ConsistentRead=True
        )
        if "Item" not in got:
            return Checkpoint(0, 0)
        item = plain_item(got["Item"])
        return Checkpoint(item["seq"], item.get("resting"))

    def load_resting(self, symbol: str, expected: int | None) -> list[OrderView]:
        """The resting orders of ``symbol``, ``expected`` of them (the checkpoint's count).

        The sparse ``by-book`` index names the candidates and a consistent ``BatchGetItem``
        confirms each. The index lags the table, so a short count is re-queried with backoff; if
        it stays short (or the checkpoint predates the count) the table is scanned: slower, never
        wrong.
        """
        if expected is not None:
            views: list[OrderView] = []
            for wait in (0.0, *INDEX_WAIT_SECONDS):
                time.sleep(wait)
                views = self._resting_from_index(symbol)
                if len(views) == expected:
                    return views
            log.warning(
                "by-book index shows %d of %d resting %s orders; scanning the table instead",
                len(views),
                expected,
                symbol,
            )
        return self._resting_from_scan(symbol)

    def _resting_from_index(self, symbol: str) -> list[OrderView]:
        keys = self._query(
            TableName=self.orders_table,
            IndexName=BY_BOOK_INDEX,
            KeyConditionExpression="book_symbol = :sym",
            ExpressionAttributeValues={":sym": _s(symbol)},
        )
        items = self.read_orders([key["order_id"] for key in keys])
        return [
            view_from_item(item)
            for item in items.values()
            if item.get("symbol") == symbol and item.get("status") in RESTING
        ]

    def _resting_from_scan(self, symbol: str) -> list[OrderView]:
        items = self._scan(
            TableName=self.orders_table,
            ConsistentRead=True,
            FilterExpression="#sym = :sym AND #st IN (:o, :p)",
            ExpressionAttributeNames={"#sym": "symbol", "#st": "status"},
            ExpressionAttributeValues={
                ":sym": _s(symbol),
                ":o": _s(RESTING[0].value),
                ":p": _s(RESTING[1].value),
            },
        )
        return [view_from_item(item) for item in items]

    def load_outbox(self, symbol: str) -> list[OutboxItem]:
        items = self._query(
            TableName=self.books_table,
            ConsistentRead=True,
            KeyConditionExpression="#sym = :sym AND begins_with(sk, :prefix)",
            ExpressionAttributeNames={"#sym": "symbol"},
            ExpressionAttributeValues={":sym": _s(symbol), ":prefix": _s(OUTBOX_PREFIX)},
        )
        return [
            OutboxItem(
                symbol,
                item["sk"],
                [EventRecord(e["detail_type"], e["detail"]) for e in json.loads(item["events"])],
                json.loads(item.get("deferred", "[]")),
                int(item.get("created_ms", 0)),
                item.get("token", ""),
            )
            for item in items
        ]

    def read_orders(self, order_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Consistent reads of Orders items (the careful path after a cancelled transaction)."""
        keys = [{"order_id": _s(o)} for o in sorted(set(order_ids))]
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(keys), 100):
            request: dict[str, Any] = {
                self.orders_table: {"Keys": keys[start : start + 100], "ConsistentRead": True}
            }
            while request:
                got = self._ddb.batch_get_item(RequestItems=request)
                for item in got["Responses"].get(self.orders_table, []):
                    plain = plain_item(item)
                    found[plain["order_id"]] = plain
                request = got.get("UnprocessedKeys") or {}
        return found

    # -- the batch commit -----------------------------------------------------------------------

    def prepare(self, outcome: Outcome, now_iso: str, token: str) -> PreparedCommit:
        """One transaction: checkpoint + outbox + every exactly-once marker + as many other writes
        as fit in the 100-item limit; the rest become idempotent deferred writes in the outbox."""
        checkpoint_values: dict[str, Any] = {
            ":new": _n(outcome.last_seq),
            ":now": _s(now_iso),
            ":resting": _n(outcome.resting),
        }
        if outcome.prev_seq == 0:
            checkpoint_condition = "attribute_not_exists(sk)"
        else:
            checkpoint_condition = "#seq = :prev"
            checkpoint_values[":prev"] = _n(outcome.prev_seq)
        checkpoint = {
            "Update": {
                "TableName": self.books_table,
                "Key": {"symbol": _s(outcome.symbol), "sk": _s(CHECKPOINT)},
                "UpdateExpression": "SET #seq = :new, updated_at = :now, resting = :resting",
                "ConditionExpression": checkpoint_condition,
                "ExpressionAttributeNames": {"#seq": "seq"},
                "ExpressionAttributeValues": checkpoint_values,
            }
        }
        targets = [w for w in outcome.orders.values() if w.is_target]
        others = [w for w in outcome.orders.values() if not w.is_target]
        inline: list[dict[str, Any]] = [
            {"Update": _order_update(self.orders_table, w, now_iso)[0]} for w in targets
        ]
        optional: list[tuple[dict[str, Any], dict[str, Any]]] = []
        for write in others:
            update, _ = _order_update(self.orders_table, write, now_iso)
            _, deferred_form = _order_update(self.orders_table, write, now_iso, fenced_by_seq=True)
            optional.append(({"Update": update}, deferred_form))
        for level in outcome.levels.values():
            optional.append(
                (
                    _level_write(self.books_table, outcome.symbol, level),
                    _deferred_level(self.books_table, outcome.symbol, level),
                )
            )
        outbox = _chunks(outcome.symbol, outcome.events, [])
        room = self.transact_limit - 1 - len(inline) - len(outbox)
        deferred: list[dict[str, Any]] = []
        if len(optional) > room:
            room -= 1  # the deferred writes may need one more outbox item
            deferred = [d for _, d in optional[max(room, 0) :]]
            optional = optional[: max(room, 0)]
            outbox = _chunks(outcome.symbol, outcome.events, deferred)
        items = [checkpoint, *inline, *(op for op, _ in optional)]
        for box in outbox:
            box.token = token
            item = {
                "symbol": _s(box.symbol),
                "sk": _s(box.sk),
                "events": _s(
                    json.dumps([{"detail_type": e.detail_type, "detail": e.detail} for e in box.events])
                ),
                "created_ms": _n(box.created_ms),
                "token": _s(token),
            }
            if box.deferred:
                item["deferred"] = _s(json.dumps(box.deferred))
            items.append({"Put": {"TableName": self.books_table, "Item": item}})
        if len(items) > self.transact_limit:
            raise ValueError(f"a batch needs {len(items)} transaction items; more than {self.transact_limit}")
        return PreparedCommit(items, outbox, deferred)

    def commit(self, prepared: PreparedCommit) -> None:
        try:
            self._ddb.transact_write_items(TransactItems=prepared.transact_items)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                raise
            reasons = [r.get("Code", "None") for r in exc.response.get("CancellationReasons", [])]
            raise CommitRejectedError(reasons) from exc

    def apply_deferred(self, box: OutboxItem) -> None:
        """Idempotent, seq-conditioned writes that did not fit the transaction; then clear them."""
        for write in box.deferred:
            try:
                if write["kind"] == "order":
                    self._ddb.update_item(**write["update"])
                else:
                    (op, body), *_ = write["op"].items()
                    if op == "Put":
                        self._ddb.put_item(**body)
                    else:
                        self._ddb.delete_item(**body)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                    raise
        if box.deferred:
            try:
                self._ddb.update_item(
                    TableName=self.books_table,
                    Key={"symbol": _s(box.symbol), "sk": _s(box.sk)},
                    UpdateExpression="REMOVE #deferred",
                    ConditionExpression="attribute_exists(sk)",
                    ExpressionAttributeNames={"#deferred": "deferred"},
                )
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                    raise
        box.deferred = []

    def delete_outbox(self, boxes: Sequence[OutboxItem]) -> None:
        """Published: drop the items (usually one per batch, so single deletes, not BatchWriteItem)."""
        for box in boxes:
            self._ddb.delete_item(
                TableName=self.books_table, Key={"symbol": _s(box.symbol), "sk": _s(box.sk)}
            )
