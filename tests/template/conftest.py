"""Fixtures for the template tests: the SAM template as written and as translated (offline)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from localcloud.template import load_template, translate_template

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = REPO_ROOT / "template.yaml"
TEST_PARAMETERS = {
    "MatcherImageUri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/trading-matcher@sha256:" + "ab" * 32
}


@pytest.fixture(scope="session")
def sam_template() -> dict[str, Any]:
    return load_template(TEMPLATE_PATH)


@pytest.fixture(scope="session")
def translated() -> dict[str, Any]:
    return translate_template(TEMPLATE_PATH, TEST_PARAMETERS)


@pytest.fixture(scope="session")
def resources(sam_template: dict[str, Any]) -> dict[str, Any]:
    return dict(sam_template["Resources"])


@pytest.fixture(scope="session")
def cfn_resources(translated: dict[str, Any]) -> dict[str, Any]:
    return dict(translated["Resources"])
