"""Fixtures of the ledger integration tests (helpers live in ``ledger_world``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg2
import pytest
from ledger_world import World


@pytest.fixture
def world(db_dsn: str) -> Iterator[World]:
    w = World(db_dsn)
    yield w
    w.conn.close()


@pytest.fixture
def conn(db_dsn: str) -> Iterator[Any]:
    connection = psycopg2.connect(db_dsn)
    yield connection
    connection.close()
