"""Run every registered benchmark in turn (``python -m bench [name ...]``)."""

import importlib
import sys

from bench import BENCHMARKS


def main(argv: list[str]) -> None:
    selected = [name for name in BENCHMARKS if not argv or name.rsplit(".", 1)[-1] in argv]
    for name in selected:
        importlib.import_module(name).main()


if __name__ == "__main__":
    main(sys.argv[1:])
