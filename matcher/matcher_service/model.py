"""Plain data the service passes between its parts: inbound commands, live order views, outcomes."""

from dataclasses import dataclass, field
from typing import Any

from trading.domain.enums import OrderStatus, OrderType, Side, StpMode, TimeInForce
from trading.engine.commands import Command

RESTING = (OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED)


@dataclass(frozen=True)
class Inbound:
    """One SQS message decoded into an engine command."""

    command_id: str  # MessageDeduplicationId (= order id for new orders)
    command: Command
    receipt_handle: str
    message_id: str
    sent_at_ms: int

    @property
    def symbol(self) -> str:
        return self.command.symbol

    @property
    def order_id(self) -> str:
        return self.command.order_id


@dataclass
class OrderView:
    """The matcher's view of one order it touched: what it writes to the ``Orders`` item."""

    order_id: str
    account_id: str
    symbol: str
    side: Side
    order_type: OrderType
    price: int | None
    quantity: int
    filled: int
    remaining: int
    status: OrderStatus
    priority_seq: int  # the seq that gave the order its place in its level's queue
    seq: int  # the last seq that changed the order
    stp: StpMode = StpMode.CANCEL_NEWEST
    post_only: bool = False
    time_in_force: TimeInForce = TimeInForce.GTC
    client_order_id: str | None = None
    reject_code: str | None = None
    amended: bool = False  # an amend changed the quantity: it overwrites the stored one
    budget_only: bool = False  # a market buy by quote budget: no quantity of its own to store
    # What is left of the order's hold, in hold units (trading.engine.rules); None on an item
    # written before the matcher kept it (recovery then assumes exactly the open worst case).
    hold_left: int | None = None

    @property
    def resting(self) -> bool:
        return self.status in RESTING


@dataclass
class OrderWrite:
    """One ``Orders`` item update of a batch (DynamoDB allows one operation per item)."""

    order_id: str
    view: OrderView | None = None  # None: the item only records a command id (e.g. rejected cancel)
    new_order: bool = False  # a NewOrder of this batch: condition "still PENDING (or absent)"
    command_ids: list[str] = field(default_factory=list)  # cancel/amend ids recorded on the item

    @property
    def is_target(self) -> bool:
        """Carries an exactly-once marker, so it must be in the atomic transaction."""
        return self.new_order or bool(self.command_ids)


@dataclass
class LevelWrite:
    side: Side
    price: int
    quantity: int  # 0 = delete the level item
    seq: int


@dataclass
class EventRecord:
    """An EventBridge entry of the outbox: detail type + JSON detail (carries symbol and seq)."""

    detail_type: str
    detail: dict[str, Any]

    @property
    def seq(self) -> int:
        return int(self.detail["seq"])


@dataclass
class Outcome:
    """What applying a symbol's batch produced; committed atomically by the store."""

    symbol: str
    prev_seq: int
    last_seq: int
    resting: int = 0  # orders resting on the book after the batch (the checkpoint keeps it)
    events: list[EventRecord] = field(default_factory=list)
    orders: dict[str, OrderWrite] = field(default_factory=dict)
    levels: dict[tuple[Side, int], LevelWrite] = field(default_factory=dict)
    applied: list[Inbound] = field(default_factory=list)
    skipped: list[Inbound] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return self.last_seq == self.prev_seq and not self.orders
