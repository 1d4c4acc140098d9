"""Benchmarks. ``python -m bench`` (``make bench``) runs every registered benchmark.

A benchmark is a module with a ``main() -> dict`` that prints its results and returns them; add
its module name to :data:`BENCHMARKS` to have ``python -m bench`` run it. Results are written as
JSON under ``bench/results/`` (git-ignored) by :func:`bench.results.write_result`.
"""

BENCHMARKS: list[str] = [
    "bench.engine_bench",
    "bench.settle_bench",
    "bench.matcher_bench",
    "bench.e2e_bench",
    "bench.availability_bench",
]
