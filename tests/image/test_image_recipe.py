"""The matcher image's recipe, checked without building it (`make image-test` builds and runs it).

matcher/Dockerfile must build on Docker's python:3.11-slim and on a Debian-packages base alike,
compile the engine for the image's own interpreter (and fail when nothing compiled), and run the
matcher's console script as an unprivileged PID 1. scripts/deploy_params.py must refuse a tag.
"""

from __future__ import annotations

import importlib.util
import re
import sys
import tomllib
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "matcher" / "Dockerfile").read_text(encoding="utf-8")
DIGEST = "123456789012.dkr.ecr.us-east-1.amazonaws.com/x@sha256:" + "0" * 64


def _deploy_params() -> ModuleType:
    spec = importlib.util.spec_from_file_location("deploy_params", ROOT / "scripts" / "deploy_params.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["deploy_params"] = module
    spec.loader.exec_module(module)
    return module


def _instructions() -> list[tuple[str, str]]:
    joined = re.sub(r"\\\n\s*", " ", DOCKERFILE)
    lines = [
        re.sub(r"\s+", " ", line.strip())
        for line in joined.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    return [(line.split(" ", 1)[0].upper(), line.split(" ", 1)[1]) for line in lines]


def test_both_stages_start_from_the_base_argument() -> None:
    # Given the Dockerfile's instructions
    steps = _instructions()

    # When reading its base images
    froms = [arg for op, arg in steps if op == "FROM"]

    # Then both stages use ${BASE} (python:3.11-slim by default, a Debian base where no registry is)
    assert ("ARG", "BASE=python:3.11-slim") in steps
    assert froms == ["${BASE} AS build", "${BASE}"]


def test_the_build_compiles_the_engine_and_fails_without_it() -> None:
    # Given the build stage's RUN steps
    runs = " ".join(arg for op, arg in _instructions() if op == "RUN")

    # Then host .so files are removed, build_native.py compiles, a missing stamp fails the build,
    # and the installed package must import codec and engine as extension modules
    assert "rm -f trading/engine/*.so" in runs
    assert "python build_native.py && test -f trading/engine/_native_sources.txt" in runs
    assert 'c.__file__.endswith(".so") and e.__file__.endswith(".so")' in runs
    assert "-c /src/constraints.txt" in runs


def test_the_entrypoint_is_the_matchers_console_script_run_unprivileged() -> None:
    # Given the runtime stage and the matcher's package metadata
    steps = _instructions()
    scripts = tomllib.loads((ROOT / "matcher" / "pyproject.toml").read_text())["project"]["scripts"]
    runtime = steps[max(i for i, (op, _) in enumerate(steps) if op == "FROM") :]

    # Then PID 1 is matcher-service in exec form, as uid 10001, with the venv on PATH
    assert ("ENTRYPOINT", '["matcher-service"]') in runtime
    assert "matcher-service" in scripts
    assert ("USER", "10001") in runtime
    assert any(op == "COPY" and arg.startswith("--from=build /opt/venv") for op, arg in runtime)


def test_the_build_context_leaves_host_builds_and_venvs_out() -> None:
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".venv", ".git", "**/*.so", "**/__pycache__"} <= set(ignored)


def test_deploy_params_pass_samconfigs_overrides_with_the_image_digest() -> None:
    # Given samconfig's dev overrides
    module = _deploy_params()

    # When make deploy asks for them with the pushed digest
    items = module.overrides("dev", [f"MatcherImageUri={DIGEST}"])

    # Then every samconfig override is there, and the image by digest
    values = dict(item.split("=", 1) for item in items)
    assert values["MatcherImageUri"] == DIGEST
    assert values["Environment"] == "dev"
    listed = tomllib.loads((ROOT / "samconfig.toml").read_text())["dev"]["deploy"]["parameters"]
    assert {item.split("=", 1)[0] for item in listed["parameter_overrides"]} | {"MatcherImageUri"} == set(
        values
    )


@pytest.mark.parametrize(
    "image",
    [
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/trading-matcher:latest",
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/trading-matcher",
        "x@sha256:" + "0" * 63,
        "",
    ],
)
def test_deploy_params_refuse_an_image_that_is_not_a_digest(image: str) -> None:
    module = _deploy_params()
    with pytest.raises(module.DeployParamsError, match="MatcherImageUri"):
        module.overrides("prod", [f"MatcherImageUri={image}"])


def test_deploy_params_refuse_an_unknown_environment_and_a_malformed_override() -> None:
    module = _deploy_params()
    with pytest.raises(module.DeployParamsError, match="staging"):
        module.overrides("staging", [f"MatcherImageUri={DIGEST}"])
    with pytest.raises(module.DeployParamsError, match="Key=Value"):
        module.overrides("dev", [f"MatcherImageUri={DIGEST}", "novalue"])
