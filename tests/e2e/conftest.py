"""The whole local runtime, once per test session, serving the real ``template.yaml``.

``local_runtime`` is the :class:`localcloud.runtime.LocalRuntime` that ``make run`` starts, on free
ports and a temporary data dir: ``rest_url``/``urls.rest``, ``ws_url``/``urls.ws``, ``endpoint``
(moto, the functions' ``AWS_ENDPOINT_URL``), ``functions``/``function_env(name)``, ``seeded`` (the
demo keys), ``admin(command)`` (accounts, deposits, keys through the admin function),
``trigger_schedule(name)``, ``invoke(function, event)`` and ``stop()``.

Mark e2e tests ``pytest.mark.e2e`` and ``pytest.mark.xdist_group("e2e")`` so one xdist worker
runs them all against one runtime (``--dist loadgroup``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from localcloud.runtime import LocalRuntime


@pytest.fixture(scope="session")
def local_runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRuntime]:
    runtime = LocalRuntime(
        tmp_path_factory.mktemp("local-runtime") / "data",
        rest_port=0,
        ws_port=0,
        run_schedules=False,  # tests trigger schedules themselves (trigger_schedule)
        persist_dynamodb=False,
    )
    runtime.start()
    yield runtime
    runtime.stop()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "shared_runtime_last: runs after the other tests of the shared runtime (it leaves data behind)",
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that leave data in the shared runtime which later tests would see run last (one
    runtime per process: a second runtime in the same process would share trading's caches)."""
    items.sort(key=lambda item: item.get_closest_marker("shared_runtime_last") is not None)
