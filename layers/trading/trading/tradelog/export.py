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


def _gzip(lines: list[bytes]) -> bytes:
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as out:
        out.writelines(lines)
    return buffer.getvalue()


def export_day(conn: connection, s3: Any, bucket: str, day: date) -> ExportResult:
    """Write ``day``'s trades (by ``executed_at``, UTC) to ``bucket``; return what was written."""
    start = datetime.combine(day, time.min, tzinfo=UTC)
    by_symbol: dict[str, list[bytes]] = {}
    with conn.cursor() as cur:
        cur.execute(
            f"""SELECT {", ".join(FIELDS)} FROM trades
                WHERE executed_at >= %s AND executed_at < %s ORDER BY symbol, seq""",  # noqa: S608
            (start, start + timedelta(days=1)),
        )
        for row in cur:
            by_symbol.setdefault(row[1], []).append(_encode(row))
    result = ExportResult(day)
    files = {}
    for symbol, lines in sorted(by_symbol.items()):
        body = _gzip(lines)
        key = object_key(day, symbol)
        s3.put_object(
            Bucket=bucket, Key=key, Body=body, ContentType="application/x-ndjson", ContentEncoding="gzip"
        )
        result.counts[symbol] = len(lines)
        result.keys.append(key)
        files[key] = {"symbol": symbol, "trades": len(lines), "sha256": hashlib.sha256(body).hexdigest()}
    manifest = {"date": day.isoformat(), "trades": sum(result.counts.values()), "files": files}
    s3.put_object(
        Bucket=bucket,
        Key=manifest_key(day),
        Body=json.dumps(manifest, indent=2, sort_keys=True).encode(),
        ContentType="application/json",
    )
    return result
