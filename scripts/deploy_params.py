"""Print the `sam deploy --parameter-overrides` of one samconfig environment with values replaced.

`sam deploy --parameter-overrides` on the command line replaces the whole list from
samconfig.toml, so `make deploy` passes that list with the image digest it just pushed:

    python scripts/deploy_params.py dev MatcherImageUri=<repo>@sha256:<digest>

The matcher image must be named by digest (an immutable reference: a new image is a new task
definition revision, so ECS rolls it out); a tag such as ``:latest`` is refused.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

SAMCONFIG = Path(__file__).resolve().parents[1] / "samconfig.toml"
DIGEST_URI = re.compile(r"^[^\s@]+@sha256:[0-9a-f]{64}$")


class DeployParamsError(ValueError):
    pass


def overrides(env: str, replacements: list[str], samconfig: Path = SAMCONFIG) -> list[str]:
    config = tomllib.loads(samconfig.read_text(encoding="utf-8"))
    try:
        listed = config[env]["deploy"]["parameters"]["parameter_overrides"]
    except KeyError as exc:
        raise DeployParamsError(
            f"samconfig.toml has no [{env}.deploy.parameters] parameter_overrides"
        ) from exc
    values = dict(item.split("=", 1) for item in listed)
    for item in replacements:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise DeployParamsError(f"expected Key=Value, got {item!r}")
        values[key] = value
    image = values.get("MatcherImageUri", "")
    if not DIGEST_URI.fullmatch(image):
        raise DeployParamsError(f"MatcherImageUri must be REPOSITORY@sha256:<64 hex>, got {image!r}")
    for key, value in values.items():
        if any(c.isspace() for c in value):
            raise DeployParamsError(f"{key} has whitespace, which --parameter-overrides would split")
    return [f"{key}={value}" for key, value in values.items()]


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        sys.stderr.write("usage: deploy_params.py ENV Key=Value...\n")
        return 2
    try:
        sys.stdout.write(" ".join(overrides(argv[1], argv[2:])) + "\n")
    except DeployParamsError as exc:
        sys.stderr.write(f"deploy_params: {exc}\n")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
