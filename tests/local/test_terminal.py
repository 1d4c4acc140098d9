"""localcloud.terminal: function log lines go to the data dir's file; loud ones reach the terminal."""

from __future__ import annotations

import io
import json
import threading
from pathlib import Path

from localcloud.terminal import FunctionLogSink, reaches_terminal


def _log(level: str, message: str) -> str:
    return json.dumps({"level": level, "message": message, "service": "orders"}, separators=(",", ":"))


def test_info_and_metrics_go_to_the_file_warnings_errors_and_plain_text_also_to_the_terminal(
    tmp_path: Path,
) -> None:
    # Given the sink in place of stdout
    terminal = io.StringIO()
    sink = FunctionLogSink(tmp_path / "functions.log", terminal)
    lines = [
        _log("INFO", "accepted"),
        '{"_aws":{"CloudWatchMetrics":[]},"OrdersAccepted":[1.0]}',
        _log("WARNING", "slow"),
        _log("ERROR", "failed"),
        "a plain print",
    ]
    # When the functions print them (print writes the text and the newline separately)
    for line in lines:
        print(line, file=sink)
    sink.close()
    # Then the file has all of them and the terminal only the loud ones
    assert (tmp_path / "functions.log").read_text().splitlines() == lines
    assert terminal.getvalue().splitlines() == lines[2:]
    assert (sink.lines_to_file, sink.lines_to_terminal) == (5, 3)


def test_verbose_shows_everything_and_threads_never_interleave_within_a_line(tmp_path: Path) -> None:
    terminal = io.StringIO()
    sink = FunctionLogSink(tmp_path / "functions.log", terminal, verbose=True)

    def writer(n: int) -> None:
        for i in range(200):
            sink.write(f"thread {n} ")
            sink.write(f"line {i}")
            sink.write("\n")

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    sink.close()
    written = (tmp_path / "functions.log").read_text().splitlines()
    assert len(written) == 800 and terminal.getvalue().splitlines() == written
    assert all(line.startswith("thread ") and " line " in line for line in written)


def test_the_file_is_bounded_by_one_rotation(tmp_path: Path) -> None:
    sink = FunctionLogSink(tmp_path / "functions.log", io.StringIO(), max_bytes=1000)
    for i in range(500):
        print(_log("INFO", f"message {i}"), file=sink)
    sink.close()
    sizes = [p.stat().st_size for p in sorted(tmp_path.iterdir())]
    assert [p.name for p in sorted(tmp_path.iterdir())] == ["functions.log", "functions.log.1"]
    assert all(size <= 1000 + 200 for size in sizes)


def test_what_reaches_the_terminal() -> None:
    assert reaches_terminal(_log("CRITICAL", "x")) and not reaches_terminal(_log("DEBUG", "x"))
    assert not reaches_terminal("") and reaches_terminal("Traceback (most recent call last):")
