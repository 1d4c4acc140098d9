"""Export one UTC day's trades from PostgreSQL to S3.

Layout: ``trades/date=YYYY-MM-DD/symbol=XXX/part-0000.jsonl.gz`` (one JSON object per trade, in
``seq`` order, integers only) plus ``trades/date=YYYY-MM-DD/_manifest.json`` (counts and SHA-256
per file). The gzip header carries no timestamp, so exporting a day again writes byte-identical
objects: the export is idempotent and safe to retry. The bucket's lifecycle rule moves the
objects to Glacier; :mod:`trading.tradelog.restore` brings a day back.
"""

import gzip
import hashlib
import io
import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from psycopg2.extensions import connection

PREFIX = "trades"
FIELDS = (
    "trade_id",
    "symbol",
    "seq",
    "price",
    "quantity",
    "taker_side",
    "maker_order_id",
    "taker_order_id",
    "maker_account_id",
    "taker_account_id",
    "maker_fee",
    "taker_fee",
    "executed_at",
)


def day_prefix(day: date) -> str:
    return f"{PREFIX}/date={day.isoformat()}/"


def object_key(day: date, symbol: str, part: int = 0) -> str:
    return f"{day_prefix(day)}symbol={symbol}/part-{part:04d}.jsonl.gz"


def manifest_key(day: date) -> str:
    return f"{day_prefix(day)}_manifest.json"


@dataclass
class ExportResult:
    day: date
    counts: dict[str, int] = field(default_factory=dict)  # trades per symbol
    keys: list[str] = field(default_factory=list)


def _encode(row: tuple[Any, ...]) -> bytes:
    record = dict(zip(FIELDS, row, strict=True))
    executed: datetime = record["executed_at"]
    record["executed_at"] = executed.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return json.dumps(record, separators=(",", ":")).encode() + b"\n"


class _SymbolFile:
    """One symbol's gzip JSON-lines object, compressed while the rows stream in."""

    def __init__(self, symbol: str) -> None:
        self.symbol = symbol
        self.count = 0
        self._buffer = io.BytesIO()
        self._gzip = gzip.GzipFile(fileobj=self._buffer, mode="wb", mtime=0)  # no timestamp: reproducible

    def add(self, line: bytes) -> None:
        self._gzip.write(line)
        self.count += 1

    def close(self) -> bytes:
        self._gzip.close()
        return self._buffer.getvalue()


def export_day(conn: connection, s3: Any, bucket: str, day: date, fetch_size: int = 10_000) -> ExportResult:
    """Write ``day``'s trades (by ``executed_at``, UTC) to ``bucket``; return what was written.

    Rows stream through a server-side cursor (``fetch_size`` at a time) and are compressed as they
    arrive, so memory holds one symbol's compressed object, not the day's rows.
    """
    start = datetime.combine(day, time.min, tzinfo=UTC)
    result = ExportResult(day)
    files: dict[str, dict[str, Any]] = {}

    def upload(current: _SymbolFile) -> None:
        body = current.close()
        key = object_key(day, current.symbol)
        s3.put_object(
            Bucket=bucket, Key=key, Body=body, ContentType="application/x-ndjson", ContentEncoding="gzip"
        )
        result.counts[current.symbol] = current.count
        result.keys.append(key)
        files[key] = {
            "symbol": current.symbol,
            "trades": current.count,
            "sha256": hashlib.sha256(body).hexdigest(),
        }

    current: _SymbolFile | None = None
    # WITH HOLD lets the named cursor work on an autocommit (reader) connection too.
    with conn.cursor(name=f"trade_export_{day:%Y%m%d}", withhold=True) as cur:
        cur.itersize = fetch_size
        cur.execute(
            f"""SELECT {", ".join(FIELDS)} FROM trades
                WHERE executed_at >= %s AND executed_at < %s ORDER BY symbol, seq""",  # noqa: S608
            (start, start + timedelta(days=1)),
        )
        for row in cur:
            if current is None or current.symbol != row[1]:
                if current is not None:
                    upload(current)
                current = _SymbolFile(row[1])
            current.add(_encode(row))
    if current is not None:
        upload(current)
    manifest = {"date": day.isoformat(), "trades": sum(result.counts.values()), "files": files}
    s3.put_object(
        Bucket=bucket,
        Key=manifest_key(day),
        Body=json.dumps(manifest, indent=2, sort_keys=True).encode(),
        ContentType="application/json",
    )
    return result
