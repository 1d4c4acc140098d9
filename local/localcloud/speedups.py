"""Where moto spends time that AWS does not: per-request work redone on every call.

None of these changes what moto answers; each only stops recomputing something that cannot have
changed. They were found by profiling the end-to-end benchmark (``bench/e2e_bench.py``) under
py-spy and yappi, and together they are most of the local runtime's CPU time under load:

* **Backend lookup.** moto's server finds the backend of every request under one process-wide
  lock, and on the way lists moto's package directory (``os.listdir`` plus an ``isdir`` per entry,
  ~200 system calls) and tries ~300 URL patterns. Every request of every thread queued on that
  lock. The answer depends only on the host name, so it is memoised per host.
* **JSONPath.** EventBridge target input paths and Step Functions ``InputPath``/``ResultPath``/
  ``OutputPath`` go through ``jsonpath_ng.parse``, which builds a new PLY parser (grammar
  reflection, table construction) per call; EventBridge parses its default input-path map for
  every event and every target, ~120 parses per ``PutEvents``. A parsed expression is an
  immutable tree (``find``/``update`` work on the data passed in), so ``parse`` is memoised by
  expression.
* **SQS retention check.** ``ReceiveMessage`` checks each message it hands out against the
  queue's retention period by building *all* of the queue's attributes, three times, and two of
  them count the messages in the queue: O(n) per message, O(n^2) per receive for a queue with a
  backlog. The check reads the one attribute it needs instead.

:func:`install` is idempotent and process-wide (``localcloud.moto_cloud.install_patches``).
"""

from __future__ import annotations

import functools
import threading
from typing import Any

import jsonpath_ng
import jsonpath_ng.ext
import moto.stepfunctions.parser.asl.component.common.path.result_path as sfn_result_path
import moto.stepfunctions.parser.asl.utils.json_path as sfn_json_path
from moto.core.utils import unix_time
from moto.moto_server.werkzeug_app import DomainDispatcherApplication
from moto.sqs.models import Message, SQSBackend

JSONPATH_CACHE_SIZE = 1024
_installed = False
_lock = threading.Lock()


def install() -> None:
    global _installed  # noqa: PLW0603 - process-wide patches, applied once
    with _lock:
        if _installed:
            return
        _memoise_backend_lookup()
        _memoise_jsonpath()
        _direct_retention_check()
        _installed = True


def _memoise_backend_lookup() -> None:
    original = DomainDispatcherApplication.get_backend_for_host
    backends: dict[str | None, Any] = {}

    def get_backend_for_host(self: DomainDispatcherApplication, host: str | None) -> Any:
        if host not in backends:
            backends[host] = original(self, host)  # called under moto's dispatcher lock
        return backends[host]

    DomainDispatcherApplication.get_backend_for_host = get_backend_for_host  # type: ignore[method-assign]


def _memoise_jsonpath() -> None:
    # (jsonpath_ng and these moto modules do not declare ``parse`` as exported, hence the ignores.)
    extended = functools.lru_cache(maxsize=JSONPATH_CACHE_SIZE)(jsonpath_ng.ext.parse)  # type: ignore[attr-defined]
    basic = functools.lru_cache(maxsize=JSONPATH_CACHE_SIZE)(jsonpath_ng.parse)  # type: ignore[attr-defined]
    # moto.events.utils imports ``jsonpath_ng.ext.parse`` inside a function, at call time; the
    # Step Functions modules bound ``parse`` when they were imported.
    jsonpath_ng.ext.parse = extended  # type: ignore[attr-defined]
    sfn_json_path.parse = extended  # type: ignore[attr-defined]
    jsonpath_ng.parse = basic  # type: ignore[attr-defined]
    sfn_result_path.parse = basic  # type: ignore[attr-defined]


def _direct_retention_check() -> None:
    def is_message_valid_based_on_retention_period(
        self: SQSBackend, queue_name: str, message: Message
    ) -> bool:
        queue = self.get_queue(queue_name)
        retention_period = queue.message_retention_period  # type: ignore[attr-defined]  # set from attributes
        return bool(retention_period + message.sent_timestamp / 1000 > unix_time())  # type: ignore[operator]

    SQSBackend.is_message_valid_based_on_retention_period = is_message_valid_based_on_retention_period  # type: ignore[method-assign]
