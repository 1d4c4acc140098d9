"""The matcher loop: receive a batch, apply it, commit it in one transaction, publish, delete.

Exactly-once effect (docs/matcher.md): every command's marker (a new order's ``Orders`` item
leaving ``PENDING``; a cancel/amend id in the item's ``commands`` set) is written in the same
transaction as the per-symbol checkpoint, which is conditioned on the previous seq. A cancelled
transaction (fenced by another task, or a redelivered command) makes the task reload the symbol
from the tables and retry with the already-applied commands filtered out by consistent reads.
"""

import gc
import logging
import os
import queue
import random
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from trading.domain.enums import OrderStatus
from trading.domain.instruments import Instrument
from trading.engine.commands import NewOrder

from matcher_service.config import MatcherSettings
from matcher_service.engine_port import CommandDecodeError, decode
from matcher_service.metrics import Metrics
from matcher_service.model import Inbound, Outcome
from matcher_service.publisher import EventPublisher, PublishError
from matcher_service.store import BookStore, CommitRejectedError, OutboxItem
from matcher_service.symbol_state import SymbolState

log = logging.getLogger(__name__)

CRASH_EXIT_CODE = 86
OUTBOX_SWEEP_SECONDS = 30.0  # how often abandoned outbox items (a dead task's) are republished
OUTBOX_ABANDONED_MS = 10_000
GC_THRESHOLD = (100_000, 50, 100)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


class Matcher:
    def __init__(
        self,
        settings: MatcherSettings,
        store: BookStore,
        publisher: EventPublisher,
        sqs: Any,
        metrics: Metrics,
        *,
        crash: Callable[[str], None] | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.publisher = publisher
        self.sqs = sqs
        self.metrics = metrics
        self.books: dict[str, SymbolState] = {}
        self.stopping = False
        self._owned = settings.owned_symbols
        self._statuses_read_at = 0.0
        self._outbox_swept_at = time.monotonic()
        self._crash = crash or self._default_crash
        # Committed batches waiting for PutEvents + deletes (pipelined mode): the next batch is
        # received, applied and committed while the previous one is being published.
        self._handoff: queue.Queue[tuple[list[OutboxItem], list[Inbound]] | None] = queue.Queue(maxsize=2)
        self._publisher_thread: threading.Thread | None = None
        self._committed_boxes: list[OutboxItem] = []

    # -- fault injection (tests only) -------------------------------------------------------------

    def _default_crash(self, point: str) -> None:
        if self.settings.matcher_crash_at == point:
            log.error("MATCHER_CRASH_AT=%s: exiting hard", point)
            logging.shutdown()
            os._exit(CRASH_EXIT_CODE)

    # -- recovery ---------------------------------------------------------------------------------

    def recover(self) -> None:
        """Rebuild every owned book from the tables and republish what the outbox still holds."""
        self.metrics.state = "recovering"
        for symbol, instrument in sorted(self.store.load_instruments().items()):
            if not self._owned or symbol in self._owned:
                self._recover_symbol(instrument, republish_all=True)
        self.metrics.state = "polling"

    def _recover_symbol(
        self, instrument: Instrument, *, republish_all: bool = False, token: str | None = None
    ) -> SymbolState:
        """Rebuild one book. Republish every outbox item at start (a predecessor's), or only the
        items of commit attempt ``token`` after an unknown outcome (others belong to a live task)."""
        symbol = instrument.symbol
        self.metrics.count("recoveries")
        while True:
            checkpoint = self.store.load_checkpoint(symbol)
            outbox = self.store.load_outbox(symbol)
            for box in outbox:
                if box.deferred:
                    self.store.apply_deferred(box)
            resting = self.store.load_resting(symbol, checkpoint.resting)
            if self.store.load_checkpoint(symbol).seq == checkpoint.seq:
                break  # nobody committed while we read: the orders match the checkpoint
        seq = checkpoint.seq
        state = SymbolState(instrument, seq, resting)
        previous = self.books.get(symbol)
        if previous is not None:
            state.set_status(previous.book.status)  # a halt read since start must survive a reload
        self.books[symbol] = state
        log.info("recovered %s at seq %d with %d resting orders", symbol, seq, len(resting))
        mine = [box for box in outbox if republish_all or (token is not None and box.token == token)]
        if mine:
            self._publish_outbox(mine)
        return state

    def _publish_outbox(self, boxes: Sequence[OutboxItem]) -> bool:
        try:
            self.publisher.publish([record for box in boxes for record in box.events])
        except (PublishError, ClientError, BotoCoreError):
            log.exception("publishing the outbox failed; it stays for the next sweep")
            return False
        self.metrics.events_published = self.publisher.published
        self._crash("after_put_events")
        self.store.delete_outbox(boxes)
        return True

    def sweep_outbox(self) -> None:
        """Republish outbox items a dead task left behind (older than a batch can take)."""
        cutoff = int(time.time() * 1000) - OUTBOX_ABANDONED_MS
        for symbol in list(self.books):
            stale = [box for box in self.store.load_outbox(symbol) if box.created_ms < cutoff]
            for box in stale:
                if box.deferred:
                    self.store.apply_deferred(box)
            if stale:
                log.warning("republishing %d abandoned outbox items of %s", len(stale), symbol)
                self._publish_outbox(stale)

    # -- the loop ---------------------------------------------------------------------------------

    def run(self) -> None:
        self.recover()
        # The books and views alive now are long-lived: keep the collector off them and let
        # generation 0 grow, so a batch rarely pays for a collection (same as bench/engine_bench).
        gc.collect()
        gc.freeze()
        gc.set_threshold(*GC_THRESHOLD)
        if self.settings.matcher_publish_pipeline:
            self._publisher_thread = threading.Thread(
                target=self._publish_loop, name="publisher", daemon=True
            )
            self._publisher_thread.start()
        try:
            while not self.stopping:
                self.poll_once()
                if time.monotonic() - self._outbox_swept_at > OUTBOX_SWEEP_SECONDS:
                    self._outbox_swept_at = time.monotonic()
                    self.sweep_outbox()
        finally:
            if self._publisher_thread is not None:
                self._handoff.put(None)  # drain what is committed, then stop
                self._publisher_thread.join()
        self.metrics.state = "stopped"

    def _publish_loop(self) -> None:
        while (item := self._handoff.get()) is not None:
            boxes, inbounds = item
            try:
                self._publish_outbox(boxes)
                self._crash("after_publish")
                self._delete(inbounds)
            except Exception:  # a committed batch must not be silently dropped: fail fast
                log.exception("publisher failed; exiting for a clean restart")
                logging.shutdown()
                os._exit(1)

    def poll_once(self) -> int:
        """One receive and its batch. A failure inside a batch propagates: the process exits and
        ECS starts a fresh task, whose recovery is the one well-tested way back to a clean state."""
        try:
            response = self.sqs.receive_message(
                QueueUrl=self.settings.orders_queue_url,
                MaxNumberOfMessages=self.settings.matcher_max_messages,
                WaitTimeSeconds=self.settings.matcher_wait_seconds,
                AttributeNames=["All"],
                MessageSystemAttributeNames=["All"],
            )
        except (ClientError, BotoCoreError):
            log.exception("ReceiveMessage failed; retrying")
            time.sleep(1.0)
            return 0
        messages = response.get("Messages", [])
        if messages:
            self.handle_batch(messages)
        return len(messages)

    def handle_batch(self, messages: list[dict[str, Any]]) -> None:
        started = time.perf_counter()
        inbounds = [inbound for inbound in map(self._decode, messages) if inbound is not None]
        by_symbol: dict[str, list[Inbound]] = defaultdict(list)
        foreign: list[Inbound] = []
        for inbound in inbounds:
            if self._owned and inbound.symbol not in self._owned:
                foreign.append(inbound)
            else:
                by_symbol[inbound.symbol].append(inbound)
        self._release(foreign)
        self._refresh_statuses(by_symbol)
        done: list[Inbound] = []
        processed = skipped = 0
        for symbol, batch in by_symbol.items():
            outcome = self._process_symbol(symbol, batch)
            if outcome is not None:
                done.extend(batch)
                processed += len(outcome.applied)
                skipped += len(outcome.skipped)
        if self._publisher_thread is not None:
            boxes, self._committed_boxes = self._committed_boxes, []
            self._handoff.put((boxes, done))
        else:
            self._crash("after_publish")
            self._delete(done)
        oldest = min((i.sent_at_ms for i in inbounds), default=0)
        age = max(0, int(time.time() * 1000) - oldest) if oldest else 0
        self.metrics.batch_done(len(messages), processed, skipped, time.perf_counter() - started, age)

    def _decode(self, message: dict[str, Any]) -> Inbound | None:
        attributes = message.get("Attributes", {})
        try:
            command = decode(message["Body"])
        except CommandDecodeError as exc:
            # Left undeleted: the queue's redrive moves it to the DLQ (alarmed) after maxReceiveCount.
            log.error("undecodable message %s: %s", message.get("MessageId"), exc.message)
            return None
        default_id = command.order_id if isinstance(command, NewOrder) else message["MessageId"]
        return Inbound(
            command_id=attributes.get("MessageDeduplicationId") or default_id,
            command=command,
            receipt_handle=message["ReceiptHandle"],
            message_id=message["MessageId"],
            sent_at_ms=int(attributes.get("SentTimestamp", 0)),
        )

    def _refresh_statuses(self, by_symbol: dict[str, list[Inbound]]) -> None:
        due = time.monotonic() - self._statuses_read_at >= self.settings.matcher_instrument_refresh_seconds
        known = [s for s in by_symbol if s in self.books]
        if due and known:
            for symbol, status in self.store.instrument_statuses(list(self.books)).items():
                if symbol in self.books:
                    self.books[symbol].set_status(status)
            self._statuses_read_at = time.monotonic()

    def _state_for(self, symbol: str) -> SymbolState | None:
        state = self.books.get(symbol)
        if state is None:
            instrument = self.store.get_instrument(symbol)
            if instrument is None:
                return None
            state = self._recover_symbol(instrument, republish_all=True)
        return state

    def _process_symbol(self, symbol: str, batch: list[Inbound]) -> Outcome | None:
        """Apply and commit one symbol's commands; ``None`` when they must be redelivered later."""
        state = self._state_for(symbol)
        if state is None:
            # Intake validates symbols, so this is a poison message: left for the DLQ (alarmed).
            log.error("%d commands for unknown symbol %s left for the DLQ", len(batch), symbol)
            return None
        skip: frozenset[str] = frozenset()
        unknown_token: str | None = None
        for attempt in range(self.settings.matcher_commit_attempts):
            timestamp = now_iso()
            outcome = state.apply(batch, timestamp, skip)
            if outcome.empty:
                return outcome
            token = uuid.uuid4().hex
            prepared = self.store.prepare(outcome, timestamp, token)
            self._crash("before_commit")
            try:
                self.store.commit(prepared)
            except CommitRejectedError as exc:
                self.metrics.count("commits_rejected")
                log.warning(
                    "commit of %s seq %d..%d cancelled (%s); reloading",
                    symbol,
                    outcome.prev_seq + 1,
                    outcome.last_seq,
                    exc,
                )
                unknown_token = None  # a cancelled transaction wrote nothing
            except (ClientError, BotoCoreError):
                # The outcome is unknown: the reload republishes the outbox if the commit landed.
                log.exception("commit of %s failed; reloading", symbol)
                self.metrics.count("commits_rejected")
                unknown_token = token
            else:
                self.metrics.count("commits")
                self._crash("after_commit")
                state.committed(outcome)
                for box in prepared.outbox:
                    if box.deferred:
                        self.store.apply_deferred(box)
                if self._publisher_thread is not None:
                    self._committed_boxes.extend(prepared.outbox)
                else:
                    self._publish_outbox(prepared.outbox)
                return outcome
            time.sleep(random.uniform(0, 0.02 * 2**attempt))  # noqa: S311 - jitter, not crypto
            state = self._recover_symbol(state.instrument, token=unknown_token)
            skip = self._already_applied(batch)
        log.error("gave up on %d commands of %s; they will be redelivered", len(batch), symbol)
        return None

    def _already_applied(self, batch: Sequence[Inbound]) -> frozenset[str]:
        """Consistent reads of the commands' markers (the careful path)."""
        items = self.store.read_orders([i.order_id for i in batch])
        applied = set()
        for inbound in batch:
            item = items.get(inbound.order_id)
            if item is None:
                continue
            if isinstance(inbound.command, NewOrder):
                if item.get("status", OrderStatus.PENDING.value) != OrderStatus.PENDING.value:
                    applied.add(inbound.command_id)
            elif inbound.command_id in item.get("commands", set()):
                applied.add(inbound.command_id)
        return frozenset(applied)

    def _release(self, inbounds: Sequence[Inbound]) -> None:
        """Another shard's commands: make them visible again at once, untouched."""
        for start in range(0, len(inbounds), 10):
            entries = [
                {"Id": str(n), "ReceiptHandle": i.receipt_handle, "VisibilityTimeout": 0}
                for n, i in enumerate(inbounds[start : start + 10])
            ]
            self.sqs.change_message_visibility_batch(QueueUrl=self.settings.orders_queue_url, Entries=entries)

    def _delete(self, inbounds: Sequence[Inbound]) -> None:
        for start in range(0, len(inbounds), 10):
            entries = [
                {"Id": str(n), "ReceiptHandle": i.receipt_handle}
                for n, i in enumerate(inbounds[start : start + 10])
            ]
            response = self.sqs.delete_message_batch(QueueUrl=self.settings.orders_queue_url, Entries=entries)
            for failure in response.get("Failed", []):
                log.warning("delete failed (the redelivery will be skipped): %s", failure)
