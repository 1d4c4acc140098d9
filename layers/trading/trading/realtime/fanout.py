"""The notify use case: one SQS batch of matcher events -> messages pushed to subscribers.

Events are grouped per channel and each channel's subscribers are looked up once per batch; every
connection then gets all its messages for the batch in as few posts as possible (see
:func:`trading.realtime.sender.frames`). A connection that is gone (410) is removed with its
subscriptions; any other send failure is logged and counted. Neither ever fails a record or stops
another connection's delivery: only a record whose event cannot be read or rendered, or whose
channel's subscribers cannot be looked up, is reported as failed so SQS redelivers it.
"""

import logging
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from pydantic import ValidationError

from trading.realtime.events import MarketEvent, parse_event
from trading.realtime.messages import (
    ChannelMessage,
    InstrumentLookup,
    Message,
    UnknownInstrumentError,
    render,
)
from trading.realtime.sender import ConnectionSender, SendOutcome, frames
from trading.realtime.store import ConnectionStore

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Record:
    message_id: str
    body: str


@dataclass
class DeliveryReport:
    events: int = 0
    ignored: int = 0
    messages: int = 0
    connections: int = 0
    posts: int = 0
    sent: int = 0
    gone: int = 0
    failed: int = 0
    failed_records: set[str] = field(default_factory=set)


@dataclass
class _ConnectionResult:
    sent: int = 0
    gone: int = 0
    failed: int = 0


class Notifier:
    def __init__(
        self,
        store: ConnectionStore,
        sender: ConnectionSender,
        instruments: InstrumentLookup,
        max_workers: int = 16,
    ) -> None:
        self._store = store
        self._sender = sender
        self._instruments = instruments
        self._max_workers = max_workers

    def deliver(self, records: Sequence[Record]) -> DeliveryReport:
        report = DeliveryReport()
        sources: dict[str, set[str]] = defaultdict(set)  # channel key -> message ids behind it
        events: list[MarketEvent] = []
        for record in records:
            try:
                event = parse_event(record.body)
                if event is None:
                    report.ignored += 1
                    continue
                for message in render([event], self._instruments):  # per record: attributable
                    sources[message.channel_key].add(record.message_id)
            except (ValidationError, UnknownInstrumentError, ValueError) as exc:
                logger.error("record %s cannot be delivered: %r", record.message_id, exc)
                report.failed_records.add(record.message_id)
                continue
            events.append(event)
        report.events = len(events)
        messages = render(events, self._instruments)
        report.messages = len(messages)

        per_connection = self._route(messages, sources, report)
        report.connections = len(per_connection)
        if not per_connection:
            return report
        workers = min(self._max_workers, len(per_connection))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(lambda item: self._send_all(*item), per_connection.items()))
        for result in results:
            report.sent += result.sent
            report.gone += result.gone
            report.failed += result.failed
        report.posts = report.sent + report.gone + report.failed
        return report

    def _route(
        self, messages: list[ChannelMessage], sources: dict[str, set[str]], report: DeliveryReport
    ) -> dict[str, list[Message]]:
        subscribers: dict[str, list[str]] = {}
        for key in dict.fromkeys(message.channel_key for message in messages):
            try:
                subscribers[key] = self._store.subscribers(key)
            except Exception as exc:  # a lookup failure fails only the records feeding this channel
                logger.error("subscriber lookup for %s failed: %r", key, exc)
                report.failed_records |= sources.get(key, set())
        per_connection: dict[str, list[Message]] = defaultdict(list)
        for message in messages:
            for connection_id in subscribers.get(message.channel_key, ()):
                per_connection[connection_id].append(message.body)
        return per_connection

    def _send_all(self, connection_id: str, messages: list[Message]) -> _ConnectionResult:
        result = _ConnectionResult()
        for payload in frames(messages):
            outcome = self._sender.send(connection_id, payload)
            if outcome is SendOutcome.SENT:
                result.sent += 1
            elif outcome is SendOutcome.GONE:
                result.gone += 1
                try:
                    self._store.remove_connection(connection_id)
                except Exception as exc:  # TTL removes it eventually
                    logger.warning("removing gone connection %s failed: %r", connection_id, exc)
                break
            else:
                result.failed += 1
        return result
