"""Render an engine benchmark result as the Markdown table used in docs/performance.md.

``python -m bench.report [bench/results/engine-<stamp>.json]`` (default: the newest engine result).
"""

import sys
from pathlib import Path
from typing import Any

import orjson

from bench.results import RESULTS_DIR


def render(result: dict[str, Any]) -> str:
    env = result["environment"]
    workload = result["workload"]
    lines = [
        f"Python {env['python']} on {env['cpus']} CPUs, load average "
        f"{env.get('loadavg_1m_before', '?')} -> {env.get('loadavg_1m_after', '?')}; "
        f"workload {workload['messages']:,} messages ({workload['events']:,} events), "
        f"seed {workload['seed']}, best of {result['runs']}.",
        "",
        "| book | msg/s (wall, best of 3) | msg/s (CPU time) | p50 | p99 | p99.9 |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, book in result["books"].items():
        lines.append(
            f"| {name} | {book['msgs_per_s']:,} | {book['cpu_msgs_per_s']:,} "
            f"| {book['p50_ns'] / 1000:.2f} us | {book['p99_ns'] / 1000:.2f} us "
            f"| {book['p999_ns'] / 1000:.2f} us |"
        )
    lines += ["", "| with orjson decode + encode | msg/s (wall) | msg/s (CPU time) |", "|---|---:|---:|"]
    for name, codec in result["codec"].items():
        lines.append(f"| {name} | {codec['msgs_per_s']:,} | {codec['cpu_msgs_per_s']:,} |")
    met = result["targets_met"]
    lines += [
        "",
        f"Fastest: `{result['fastest']}`, {result['fast_vs_reference']}x the reference book; "
        f"identical events: {result['identical_events']}. Targets met: "
        + ", ".join(f"{k} {'yes' if v else 'NO'}" for k, v in met.items())
        + ".",
    ]
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) > 1:
        path = Path(sys.argv[1])
    else:
        path = max(RESULTS_DIR.glob("engine-*.json"), key=lambda p: p.name)
    sys.stdout.write(render(orjson.loads(path.read_bytes())) + "\n")


if __name__ == "__main__":
    main()
