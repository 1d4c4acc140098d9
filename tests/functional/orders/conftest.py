"""Registers the ``order_stack`` fixture (helpers live in ``order_stack.py``, a uniquely named module:
several test directories have a ``conftest`` and ``from conftest import`` would be ambiguous)."""

from order_stack import order_resources, order_stack

__all__ = ["order_resources", "order_stack"]
