"""cfn-lint on template.yaml, baseline.yaml and bootstrap.yaml: zero errors and zero warnings.

No rule is ignored (there is no .cfnlintrc); informational findings (I-rules) are not failures.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("template", ["template.yaml", "baseline.yaml", "bootstrap.yaml"])
def test_cfn_lint_reports_no_errors_and_no_warnings(template: str) -> None:
    # Given the template and the regions it is meant for (us-east-1 hosts the CLOUDFRONT-scope WAF)
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    command = [str(cfn_lint), "--format", "json", "--regions", "us-east-1", "eu-west-1"]

    # When cfn-lint runs on it
    result = subprocess.run(
        [*command, "--", str(REPO_ROOT / template)],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        check=False,
    )

    # Then nothing at error or warning level is reported
    findings = json.loads(result.stdout or "[]")
    serious = [f for f in findings if f["Level"] in {"Error", "Warning"}]
    assert serious == [], json.dumps(serious, indent=1)
    assert result.returncode in {0, 8}, result.stderr  # 8 = informational findings only
