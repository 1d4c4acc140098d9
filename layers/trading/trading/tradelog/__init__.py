"""The daily trade log in S3: gzip JSON lines partitioned by date and symbol (docs/ledger.md)."""

from trading.tradelog.export import ExportResult, export_day, object_key
from trading.tradelog.restore import RestoreStatus, query_day, request_restore

__all__ = ["ExportResult", "RestoreStatus", "export_day", "object_key", "query_day", "request_restore"]
