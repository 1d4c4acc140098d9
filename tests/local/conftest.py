"""A whole local runtime serving the test-only template in ``fixtures/`` (one per xdist worker).

The tests in this directory prove each emulated piece against a template: REST routes, the
authorizer and usage plans, the SQS poller and redrive, EventBridge -> Step Functions, the
WebSocket API and ``@connections``. The test template keeps them fast (1 s visibility timeout,
``maxReceiveCount`` 2) and independent of the application's functions; tests/e2e run the same
runtime on the real ``template.yaml``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from localcloud.runtime import LocalRuntime

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def demo_runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRuntime]:
    runtime = LocalRuntime(
        tmp_path_factory.mktemp("localcloud") / "data",
        rest_port=0,
        ws_port=0,
        template_path=FIXTURES / "template.yaml",
        stack_name="localtest",
        run_matcher=False,
        seed=False,
        run_schedules=False,
        persist_dynamodb=False,
    )
    runtime.start()
    yield runtime
    runtime.stop()
