"""Per-thread request state for Powertools' event handler, so concurrent invocations stay apart.

In AWS each invocation runs alone in its sandbox. Here the runtime runs the functions' handlers
concurrently on threads of one process (:mod:`localcloud.lambdas`), and Powertools' REST resolver
keeps the request being handled in *class* attributes: ``resolve`` assigns
``BaseRouter.current_event`` and ``BaseRouter.lambda_context``, and every route, ``Router`` and
validation step reads them back; the matched route and its arguments go into the resolver
instance's ``context`` dict, which one thread's ``clear_context`` empties under another
(``KeyError: '_route'``, answered 500). Two requests in flight at once could then read each other's
event: the soak (``bench/soak``) saw an amend answered ``UNKNOWN_FIELD`` for another request's
body, a fresh ``client_order_id`` answered ``IDEMPOTENCY_CONFLICT``, and one account's order list
holding another account's order, because the principal was read from the other request.

:func:`install` gives ``BaseRouter``'s metaclass a data descriptor for each of the two attributes,
backed by a ``threading.local``, puts matching properties on ``BaseRouter`` for instance access,
and makes a resolver's ``context`` one dict per thread: what one thread assigns, only that
thread reads. It changes nothing for a single thread
(which is all AWS ever runs per sandbox). Idempotent; checked against the Powertools version it
was written for, and ``tests/local/test_sandbox.py`` shows the race without it.
"""

from __future__ import annotations

import threading
from typing import Any

import aws_lambda_powertools
from aws_lambda_powertools.event_handler.api_gateway import BaseRouter

WRITTEN_FOR = "3."  # Powertools major version whose resolver assigns these class attributes
_ATTRIBUTES = ("current_event", "lambda_context")
_state = threading.local()
_lock = threading.Lock()


def _slot(name: str) -> property:
    def get(_owner: Any) -> Any:
        try:
            return getattr(_state, name)
        except AttributeError:
            raise AttributeError(f"no {name}: no request is being resolved on this thread") from None

    def set_(_owner: Any, value: Any) -> None:
        setattr(_state, name, value)

    return property(get, set_)


def _per_thread_context() -> property:
    """``resolver.context``: the per-request dict Powertools keeps on the resolver instance (the
    matched route, its arguments, the parsed request), one per thread and resolver."""

    def contexts() -> dict[int, dict[str, Any]]:
        found: dict[int, dict[str, Any]] | None = getattr(_state, "contexts", None)
        if found is None:
            found = _state.contexts = {}
        return found

    def get(resolver: Any) -> dict[str, Any]:
        return contexts().setdefault(id(resolver), {})

    def set_(resolver: Any, value: dict[str, Any]) -> None:
        contexts()[id(resolver)] = value

    return property(get, set_)


def installed() -> bool:
    return type(BaseRouter).__name__ == "_ThreadLocalRouterState"


def install() -> None:
    if not aws_lambda_powertools.__version__.startswith(WRITTEN_FOR):
        raise RuntimeError(
            f"localcloud.sandbox was written for Powertools {WRITTEN_FOR}x, found "
            f"{aws_lambda_powertools.__version__}: check BaseRouter.current_event is still a class attribute"
        )
    with _lock:
        if installed():
            return
        slots = {name: _slot(name) for name in _ATTRIBUTES}
        for name, slot in slots.items():  # instance reads and writes: self.current_event
            setattr(BaseRouter, name, slot)
        BaseRouter.context = _per_thread_context()  # type: ignore[assignment]  # Router keeps its own
        # class-level reads and writes (BaseRouter.current_event = ...): a data descriptor on the
        # metaclass takes precedence over the class's own attribute
        meta = type("_ThreadLocalRouterState", (type(BaseRouter),), dict(slots))
        setattr(BaseRouter, "__class__", meta)  # noqa: B010 - mypy rejects the plain assignment
