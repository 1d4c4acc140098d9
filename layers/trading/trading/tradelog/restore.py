"""Bring an exported day back from Glacier and query it.

Objects in ``GLACIER``/``DEEP_ARCHIVE`` must be restored before they can be read:
:func:`request_restore` asks S3 for a temporary copy (hours, depending on the tier) and reports
per object whether it is readable now. :func:`query_day` reads a day (optionally one symbol or one
account) and verifies each file against the manifest's SHA-256.
"""

import gzip
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from trading.tradelog.export import day_prefix, manifest_key

_ARCHIVED = {"GLACIER", "DEEP_ARCHIVE"}


class NotRestoredError(RuntimeError):
    """An object of the day is archived and its restore has not finished."""


@dataclass(frozen=True)
class RestoreStatus:
    key: str
    storage_class: str
    readable: bool  # can be read now (not archived, or a restored copy exists)
    requested: bool  # this call asked S3 for a restore


def _data_keys(s3: Any, bucket: str, day: date) -> list[dict[str, Any]]:
    objects: list[dict[str, Any]] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=day_prefix(day)):
        objects.extend(o for o in page.get("Contents", []) if o["Key"].endswith(".jsonl.gz"))
    return objects


def request_restore(
    s3: Any, bucket: str, day: date, days: int = 7, tier: str = "Standard"
) -> list[RestoreStatus]:
    statuses = []
    for obj in _data_keys(s3, bucket, day):
        key, storage = obj["Key"], obj.get("StorageClass", "STANDARD")
        if storage not in _ARCHIVED:
            statuses.append(RestoreStatus(key, storage, readable=True, requested=False))
            continue
        restore = s3.head_object(Bucket=bucket, Key=key).get("Restore", "")
        if 'ongoing-request="false"' in restore:
            statuses.append(RestoreStatus(key, storage, readable=True, requested=False))
        elif 'ongoing-request="true"' in restore:
            statuses.append(RestoreStatus(key, storage, readable=False, requested=False))
        else:
            s3.restore_object(
                Bucket=bucket, Key=key, RestoreRequest={"Days": days, "GlacierJobParameters": {"Tier": tier}}
            )
            statuses.append(RestoreStatus(key, storage, readable=False, requested=True))
    return statuses


def query_day(
    s3: Any, bucket: str, day: date, symbol: str | None = None, account_id: str | None = None
) -> Iterator[dict[str, Any]]:
    """Yield the day's trades (``symbol``/``account_id`` filter), verified against the manifest."""
    manifest = json.loads(s3.get_object(Bucket=bucket, Key=manifest_key(day))["Body"].read())
    for key, info in sorted(manifest["files"].items()):
        if symbol is not None and info["symbol"] != symbol:
            continue
        try:
            body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        except Exception as exc:
            if "InvalidObjectState" in str(exc):
                raise NotRestoredError(f"{key} is archived; run the restore command first") from exc
            raise
        if hashlib.sha256(body).hexdigest() != info["sha256"]:
            raise ValueError(f"{key} does not match its manifest checksum")
        for line in gzip.decompress(body).splitlines():
            trade = json.loads(line)
            if account_id is None or account_id in (trade["maker_account_id"], trade["taker_account_id"]):
                yield trade
