"""A quiet terminal for ``make run`` (docs/local.md, "Terminal and logs").

The functions run in-process and log JSON lines (Powertools) and metrics (EMF) to ``sys.stdout``.
:class:`FunctionLogSink` takes their place as ``sys.stdout``: every line goes to
``<data dir>/functions.log``; a JSON log line at ``WARNING`` or above, and any line that is not JSON
(a stray print, a traceback), also reaches the terminal; ``--verbose`` sends everything to both.
The runtime's own log (banner, ``localcloud.*``) keeps writing to the real stdout/stderr.

The file is bounded: past ``max_bytes`` it is rotated once to ``functions.log.1``.
"""

from __future__ import annotations

import io
import threading
from pathlib import Path
from typing import TextIO

LOG_FILE = "functions.log"
MAX_BYTES = 50 * 1024 * 1024
_LOUD = (
    '"level":"WARNING"',
    '"level":"ERROR"',
    '"level":"CRITICAL"',
    '"level": "WARNING"',
    '"level": "ERROR"',
)


def reaches_terminal(line: str) -> bool:
    """A function's line the terminal shows without ``--verbose``."""
    text = line.lstrip()
    if not text.startswith("{"):
        return bool(text)  # not a structured log line: show it
    return any(marker in text for marker in _LOUD)


class FunctionLogSink(io.TextIOBase):
    """A line-buffered, thread-safe stdout replacement splitting lines between file and terminal."""

    def __init__(
        self, path: Path, terminal: TextIO, *, verbose: bool = False, max_bytes: int = MAX_BYTES
    ) -> None:
        self.path = path
        self.terminal = terminal
        self.verbose = verbose
        self.max_bytes = max_bytes
        self.lines_to_file = 0
        self.lines_to_terminal = 0
        self._lock = threading.Lock()
        self._pending = threading.local()  # each thread assembles its own lines (print writes twice)
        self._file = path.open("a", encoding="utf-8")

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        buffer = getattr(self._pending, "text", "") + text
        *lines, rest = buffer.split("\n")
        self._pending.text = rest
        if lines:
            self._emit(lines)
        return len(text)

    def flush(self) -> None:
        rest = getattr(self._pending, "text", "")
        if rest:
            self._pending.text = ""
            self._emit([rest])
        with self._lock:
            if not self._file.closed:
                self._file.flush()
            self.terminal.flush()

    def _emit(self, lines: list[str]) -> None:
        with self._lock:
            if self._file.closed:
                return
            for line in lines:
                self._file.write(line + "\n")
                self.lines_to_file += 1
                if self.verbose or reaches_terminal(line):
                    self.terminal.write(line + "\n")
                    self.lines_to_terminal += 1
            self.terminal.flush()
            if self._file.tell() > self.max_bytes:
                self._rotate()

    def _rotate(self) -> None:
        self._file.close()
        self.path.replace(self.path.with_name(self.path.name + ".1"))
        self._file = self.path.open("a", encoding="utf-8")

    def close(self) -> None:
        self.flush()
        with self._lock:
            self._file.close()
        super().close()
