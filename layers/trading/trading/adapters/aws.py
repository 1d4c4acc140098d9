"""boto3 clients and resources, created once per container.

``AWS_ENDPOINT_URL`` (set by the local runtime and the tests) is honoured by boto3 itself, so the
same code talks to AWS or to moto.
"""

from functools import cache
from typing import Any

import boto3
from botocore.config import Config

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=2, read_timeout=5)


@cache
def client(service: str) -> Any:
    return boto3.session.Session().client(service, config=_CONFIG)  # type: ignore[call-overload]


@cache
def resource(service: str) -> Any:
    return boto3.session.Session().resource(service, config=_CONFIG)  # type: ignore[call-overload]


def reset() -> None:
    """Forget cached clients (tests that change ``AWS_ENDPOINT_URL`` call this)."""
    client.cache_clear()
    resource.cache_clear()
