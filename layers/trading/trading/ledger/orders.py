"""Terminal orders: archive to ``order_history`` and release their holds (see ``holds`` for the rule).

Used by the ``order_archiver`` (DynamoDB stream of ``Orders``) and the ``hold_sweeper`` (schedule).
"""

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from psycopg2.extensions import connection
from pydantic import BaseModel, ConfigDict

from trading.domain.enums import OrderStatus
from trading.ledger.holds import release_if_settled, release_locked, settled_quantity


class OrderSnapshot(BaseModel):
    """The fields of an ``Orders`` item the archive needs; everything else is kept as the document."""

    model_config = ConfigDict(extra="allow", frozen=True)

    order_id: str
    account_id: str
    symbol: str
    side: str
    order_type: str
    status: OrderStatus
    price: int | None = None
    quantity: int | None = None
    filled_quantity: int = 0
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True)
class ArchiveResult:
    order_id: str
    archived: bool  # False when already in order_history
    hold_closed: bool  # False when fills are still unsettled (settlement will release later)


def _plain(value: Any) -> Any:
    """DynamoDB numbers arrive as Decimal; store them as ints (money is never fractional here)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else str(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_plain(v) for v in value]
    return value


def to_snapshot(item: Mapping[str, Any]) -> OrderSnapshot:
    return OrderSnapshot.model_validate(_plain(item))


def archive_order(conn: connection, order: OrderSnapshot | Mapping[str, Any]) -> ArchiveResult:
    """Record a terminal order in ``order_history`` and release its hold if all fills are settled.

    Idempotent: archiving again changes nothing. Non-terminal orders are rejected with ValueError.
    """
    snap = order if isinstance(order, OrderSnapshot) else to_snapshot(order)
    if not snap.status.is_terminal:
        raise ValueError(f"order {snap.order_id} is {snap.status}, not terminal")
    now = datetime.now(UTC)
    document = json.dumps(_plain(snap.model_dump(mode="json")), sort_keys=True)
    with conn.cursor() as cur:
        # Lock the hold first so settlement and archiving of the same order serialise.
        cur.execute("SELECT 1 FROM holds WHERE order_id = %s FOR UPDATE", (snap.order_id,))
        cur.execute(
            """INSERT INTO order_history (order_id, account_id, symbol, side, order_type, status, price,
                   quantity, filled_quantity, created_at, closed_at, document)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
               ON CONFLICT (order_id) DO NOTHING RETURNING 1""",
            (
                snap.order_id,
                snap.account_id,
                snap.symbol,
                snap.side,
                snap.order_type,
                snap.status.value,
                snap.price,
                snap.quantity,
                snap.filled_quantity,
                snap.created_at or now,
                snap.updated_at or now,
                document,
            ),
        )
        archived = cur.fetchone() is not None
        closed = release_if_settled(cur, snap.order_id, snap.filled_quantity)
    return ArchiveResult(snap.order_id, archived, closed)


class OrdersLookup(Protocol):
    """Reads current ``Orders`` items by id (missing ids are absent from the result)."""

    def get_orders(self, order_ids: Sequence[str]) -> Mapping[str, Mapping[str, Any]]: ...

    def expire_pending(self, order_id: str) -> bool:
        """Mark the order ``REJECTED`` (``reject_code`` :data:`INTAKE_EXPIRED`) only if it is still
        ``PENDING``; True when this call did it (the matcher then skips its ``new`` command)."""
        ...


INTAKE_EXPIRED = "INTAKE_EXPIRED"  # reject_code of an order the matcher never accepted in time


@dataclass
class SweepResult:
    examined: int = 0
    released: list[str] = field(default_factory=list)  # holds released by this sweep
    archived: list[str] = field(default_factory=list)  # terminal orders newly archived
    waiting: list[str] = field(default_factory=list)  # terminal orders with fills not yet settled
    orphaned: list[str] = field(default_factory=list)  # no order item after the grace period
    expired: list[str] = field(default_factory=list)  # PENDING past the pending timeout: now REJECTED


def sweep_holds(
    conn: connection,
    orders: OrdersLookup,
    *,
    grace: timedelta = timedelta(minutes=5),
    pending_timeout: timedelta = timedelta(minutes=10),
    page_size: int = 100,
    max_orders: int = 5_000,
    now: datetime | None = None,
) -> SweepResult:
    """Release the holds of orders that ended (and whose fills are settled), and of orders that
    never reached ``Orders`` (the intake failed after holding funds) once ``grace`` has passed.
    Orders still ``PENDING`` after ``pending_timeout`` (the intake could not tell whether its send
    reached the queue) are rejected with a conditional write first, and only then released.

    Walks every ACTIVE hold older than ``grace`` (oldest first, keyset pages of ``page_size``, at
    most ``max_orders`` per run). Each order is handled in its own transaction so one bad order
    does not block the rest.
    """
    now = now or datetime.now(UTC)
    cutoff = now - grace
    result = SweepResult()
    after: tuple[datetime, str] | None = None
    while result.examined < max_orders:
        with conn, conn.cursor() as cur:
            cur.execute(
                """SELECT order_id, created_at FROM holds
                   WHERE status = 'ACTIVE' AND created_at < %s
                     AND (%s::timestamptz IS NULL OR (created_at, order_id) > (%s::timestamptz, %s))
                   ORDER BY created_at, order_id LIMIT %s""",
                (cutoff, after and after[0], after and after[0], after and after[1], page_size),
            )
            page = cur.fetchall()
        if not page:
            break
        after = (page[-1][1], page[-1][0])
        _sweep_page(conn, orders, page, result, now - pending_timeout)
        if len(page) < page_size:
            break
    return result


def _sweep_page(
    conn: connection,
    orders: OrdersLookup,
    page: list[tuple[str, datetime]],
    result: SweepResult,
    pending_cutoff: datetime,
) -> None:
    result.examined += len(page)
    items = orders.get_orders([order_id for order_id, _ in page])
    for order_id, held_since in page:
        item = items.get(order_id)
        if item is None:
            with conn, conn.cursor() as cur:
                cur.execute("SELECT 1 FROM holds WHERE order_id = %s FOR UPDATE", (order_id,))
                # An order with settled fills did exist; never guess about those.
                if settled_quantity(cur, order_id) == 0:
                    release_locked(cur, order_id)
                    result.orphaned.append(order_id)
                    result.released.append(order_id)
            continue
        snap = to_snapshot(item)
        if snap.status is OrderStatus.PENDING:
            _expire_if_stale(
                conn, orders, snap, held_since=held_since, pending_cutoff=pending_cutoff, result=result
            )
            continue
        if not snap.status.is_terminal:
            continue
        with conn:
            outcome = archive_order(conn, snap)
        if outcome.archived:
            result.archived.append(order_id)
        (result.released if outcome.hold_closed else result.waiting).append(order_id)


def _expire_if_stale(
    conn: connection,
    orders: OrdersLookup,
    snap: OrderSnapshot,
    *,
    held_since: datetime,
    pending_cutoff: datetime,
    result: SweepResult,
) -> None:
    """Reject a PENDING order older than the cutoff and release its hold.

    The intake keeps the hold when its send failed (the command may still arrive). Only once the
    conditional ``PENDING -> REJECTED`` write succeeded can the matcher no longer accept the order
    (its commit is conditional on ``PENDING``), so only then does the hold go back. A PENDING order
    has never been on the book, so it has no fills to wait for.
    """
    if (snap.created_at or held_since) >= pending_cutoff:
        return
    if not orders.expire_pending(snap.order_id):
        return  # the matcher got there first: the order's terminal state releases the hold
    with conn, conn.cursor() as cur:
        release_locked(cur, snap.order_id)
    result.expired.append(snap.order_id)
    result.released.append(snap.order_id)


class DynamoOrdersLookup:
    """:class:`OrdersLookup` over the ``Orders`` table (BatchGetItem, 100 keys per call)."""

    def __init__(self, table_name: str, client: Any = None) -> None:
        if client is None:
            import boto3  # noqa: PLC0415 - only the Lambda edge needs boto3

            client = boto3.resource("dynamodb")
        self._resource = client
        self._table_name = table_name

    def get_orders(self, order_ids: Sequence[str]) -> Mapping[str, Mapping[str, Any]]:
        found: dict[str, Mapping[str, Any]] = {}
        for start in range(0, len(order_ids), 100):
            request: dict[str, Any] = {
                self._table_name: {"Keys": [{"order_id": oid} for oid in order_ids[start : start + 100]]}
            }
            while request:
                response = self._resource.batch_get_item(RequestItems=request)
                for item in response.get("Responses", {}).get(self._table_name, []):
                    found[str(item["order_id"])] = item
                request = response.get("UnprocessedKeys") or {}
        return found

    def expire_pending(self, order_id: str) -> bool:
        from botocore.exceptions import ClientError  # noqa: PLC0415 - only the Lambda edge needs boto3

        from trading.domain.order_index import ACCOUNT_STATE, account_state  # noqa: PLC0415

        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        table = self._resource.Table(self._table_name)
        # the account keys the status index: read it first (the write stays conditional on PENDING)
        item = table.get_item(Key={"order_id": order_id}, ConsistentRead=True).get("Item")
        if not item or item.get("status") != str(OrderStatus.PENDING):
            return False
        names = {"#s": "status"}
        values = {
            ":rejected": str(OrderStatus.REJECTED),
            ":pending": str(OrderStatus.PENDING),
            ":code": INTAKE_EXPIRED,
            ":now": now,
        }
        sets = "SET #s = :rejected, reject_code = :code, updated_at = :now"
        if item.get("account_id"):
            names["#as"] = ACCOUNT_STATE
            values[":as"] = account_state(str(item["account_id"]), OrderStatus.REJECTED)
            sets += ", #as = :as"
        try:
            table.update_item(
                Key={"order_id": order_id},
                UpdateExpression=sets,
                ConditionExpression="#s = :pending",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True
