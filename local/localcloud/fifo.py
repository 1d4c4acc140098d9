"""Patches for moto's SQS FIFO gaps, so local FIFO queues behave like AWS where the system relies on it.

1. **Deduplication window.** moto only compares a new message with the messages still in the
   queue, so once a message is deleted its deduplication id is forgotten; AWS drops duplicates for
   5 minutes after the first send; moto also ignores ``DeduplicationScope=messageGroup``.
   Patched: every FIFO queue remembers each deduplication id (per message group when the scope
   is ``messageGroup``) for 300 s.
2. **Redelivery order.** When several messages of one group were in flight and their visibility
   timeout ran out, moto released them one at a time while scanning, and returned a later message
   of the group before an earlier one. Patched: expired in-flight messages are released before a
   receive looks at the queue, so the group comes back in order.
3. **SequenceNumber.** moto draws 20 random digits (and none with content-based deduplication);
   AWS assigns increasing numbers per group. Patched: a per-queue counter. Nothing downstream
   relies on it anyway (the matcher's own per-symbol ``seq`` orders events).

Each call is still O(queue depth) in moto; fine for local volumes.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from moto.sqs.models import Queue as SqsQueue
from moto.sqs.models import SQSBackend

DEDUPLICATION_WINDOW_S = 300.0
_lock = threading.Lock()
_patched = False


def _dedup_key(queue: Any, message: Any) -> tuple[str, str] | None:
    if not queue.fifo_queue or not message.deduplication_id:
        return None
    by_group = queue.attributes.get("DeduplicationScope") == "messageGroup"
    return (message.group_id or "" if by_group else "", message.deduplication_id)


def install() -> None:
    global _patched  # noqa: PLW0603 - patches are process-wide by nature
    with _lock:
        if _patched:
            return
        _patch_dedup_window()
        _patch_redelivery_order()
        _patch_sequence_numbers()
        _patched = True


def _patch_dedup_window() -> None:
    original = SqsQueue.add_message

    def add_message(self: Any, message: Any) -> None:
        key = _dedup_key(self, message)
        if key is not None:
            now = time.monotonic()
            with _lock:
                seen: dict[tuple[str, str], float] = self.__dict__.setdefault("_localcloud_dedup", {})
                for stale in [k for k, at in seen.items() if now - at >= DEDUPLICATION_WINDOW_S]:
                    del seen[stale]
                if key in seen:
                    return  # a duplicate inside the window: accepted by the API, never delivered
                seen[key] = now
            # moto's own check ignores DeduplicationScope and deletions; this one replaces it.
            dedup_id, message.deduplication_id = message.deduplication_id, f"localcloud-{id(message)}-{now}"
            try:
                original(self, message)
            finally:
                message.deduplication_id = dedup_id
            return
        original(self, message)

    SqsQueue.add_message = add_message  # type: ignore[method-assign]


def _patch_redelivery_order() -> None:
    original: Any = SqsQueue.messages  # a property

    def messages(self: Any) -> Any:
        if self.fifo_queue:
            for message in list(self._pending_messages):
                if message.visible:
                    self._pending_messages.discard(message)
        return original.fget(self)

    SqsQueue.messages = property(messages)  # type: ignore[method-assign, assignment]


def _patch_sequence_numbers() -> None:
    original = SQSBackend.send_message

    def send_message(self: Any, queue_name: str, *args: Any, **kwargs: Any) -> Any:
        message = original(self, queue_name, *args, **kwargs)
        queue = self.get_queue(queue_name)
        if queue.fifo_queue:
            with _lock:
                counter = queue.__dict__.get("_localcloud_sequence", 10**19) + 1
                queue.__dict__["_localcloud_sequence"] = counter
            message.sequence_number = f"{counter:020d}"
        return message

    SQSBackend.send_message = send_message  # type: ignore[method-assign]
