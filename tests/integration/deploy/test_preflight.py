"""scripts/preflight.py against a real moto server: a fresh account, then one prepared for a deploy."""

from __future__ import annotations

import importlib.util
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest

ROOT = Path(__file__).resolve().parents[3]


def _preflight() -> ModuleType:
    if "preflight" not in sys.modules:
        spec = importlib.util.spec_from_file_location("preflight", ROOT / "scripts" / "preflight.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["preflight"] = module
        spec.loader.exec_module(module)
    return sys.modules["preflight"]


@pytest.fixture
def account(moto_endpoint: str) -> Callable[[str, str], Any]:
    """boto3 clients of one fresh moto account (moto keys accounts by access key id)."""
    key = "".join(str(uuid.uuid4().int)[:12])  # a 12-digit access key id is read as the account id

    def client(service: str, region: str) -> Any:
        return boto3.client(
            service,
            region_name=region,
            endpoint_url=moto_endpoint,
            aws_access_key_id=key,
            aws_secret_access_key="testing",
        )

    return client


def _by_check(findings: list[Any]) -> dict[str, Any]:
    return {f.check: f for f in findings}


def test_a_fresh_account_is_told_what_a_first_deploy_lacks(account: Callable[[str, str], Any]) -> None:
    # Given a fresh account in eu-west-1, with the baseline not setting the API Gateway role
    preflight = _preflight()

    # When the preflight runs
    findings = _by_check(
        preflight.run(account, "eu-west-1", db_reserved_concurrency=0, baseline_sets_api_gateway_role=False)
    )

    # Then it fails on the region (no CloudFront ACL possible), every missing service-linked role
    # (with the command that creates it) and the missing API Gateway logging role
    assert findings["region"].level == "FAIL" and "us-east-1" in findings["region"].detail
    for role, service in preflight.SERVICE_LINKED_ROLES.items():
        finding = findings[f"service-linked role {role}"]
        assert finding.level == "FAIL"
        assert f"create-service-linked-role --aws-service-name {service}" in finding.detail
    assert findings["api gateway logging role"].level == "FAIL"
    assert "baseline.yaml" in findings["api gateway logging role"].detail
    # moto has no Lambda GetAccountSettings: the check says so instead of guessing
    assert findings["lambda concurrency"].level in {"WARN", "PASS"}
    assert findings["guardduty"].level == "WARN"


def test_a_prepared_account_in_us_east_1_passes(account: Callable[[str, str], Any]) -> None:
    # Given the service-linked roles, an API Gateway logging role and a multi-region trail
    preflight = _preflight()
    iam = account("iam", "us-east-1")
    for service in preflight.SERVICE_LINKED_ROLES.values():
        iam.create_service_linked_role(AWSServiceName=service)
    names = {r["RoleName"] for r in iam.list_roles(PathPrefix="/aws-service-role/")["Roles"]}
    missing = set(preflight.SERVICE_LINKED_ROLES) - names
    for role in missing:  # moto names some service-linked roles differently; create the real names
        iam.create_role(
            RoleName=role,
            Path=f"/aws-service-role/{preflight.SERVICE_LINKED_ROLES[role]}/",
            AssumeRolePolicyDocument="{}",
        )
    role_arn = iam.create_role(RoleName="apigw-logs", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    account("apigateway", "us-east-1").update_account(
        patchOperations=[{"op": "replace", "path": "/cloudwatchRoleArn", "value": role_arn}]
    )
    s3 = account("s3", "us-east-1")
    bucket = f"trail-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    account("cloudtrail", "us-east-1").create_trail(Name="org", S3BucketName=bucket, IsMultiRegionTrail=True)

    # When the preflight runs for us-east-1 and the baseline does not touch the role
    findings = preflight.run(
        account, "us-east-1", db_reserved_concurrency=0, baseline_sets_api_gateway_role=False
    )

    # Then nothing fails
    assert [f.line() for f in findings if f.level == "FAIL"] == []
    checks = _by_check(findings)
    assert checks["region"].level == "PASS"
    assert role_arn in checks["api gateway logging role"].detail
    assert checks["cloudtrail"].level == "PASS"


def test_an_existing_guardduty_detector_fails_a_baseline_that_would_create_one(
    account: Callable[[str, str], Any],
) -> None:
    # Given an account whose organisation enabled GuardDuty
    preflight = _preflight()
    detector = account("guardduty", "us-east-1").create_detector(Enable=True)["DetectorId"]

    # When the preflight runs for a baseline with CreateGuardDutyDetector=true, and then without
    with_create = _by_check(
        preflight.run(account, "us-east-1", db_reserved_concurrency=0, create_guardduty=True)
    )
    without = _by_check(preflight.run(account, "us-east-1", db_reserved_concurrency=0))

    # Then the first fails naming the detector, the second passes
    assert with_create["guardduty"].level == "FAIL" and detector in with_create["guardduty"].detail
    assert without["guardduty"].level == "PASS"


def test_an_existing_cloudfront_web_acl_makes_another_region_pass(account: Callable[[str, str], Any]) -> None:
    # Given a CLOUDFRONT-scope web ACL in us-east-1
    preflight = _preflight()
    acl = account("wafv2", "us-east-1").create_web_acl(
        Name="edge",
        Scope="CLOUDFRONT",
        DefaultAction={"Allow": {}},
        VisibilityConfig={
            "SampledRequestsEnabled": False,
            "CloudWatchMetricsEnabled": False,
            "MetricName": "e",
        },
    )["Summary"]

    # When the preflight runs for eu-west-1 with its ARN, and with a made-up one
    good = _by_check(
        preflight.run(account, "eu-west-1", db_reserved_concurrency=0, cloudfront_web_acl_arn=acl["ARN"])
    )
    made_up = acl["ARN"].replace(acl["Id"], str(uuid.uuid4()))
    bad = _by_check(
        preflight.run(account, "eu-west-1", db_reserved_concurrency=0, cloudfront_web_acl_arn=made_up)
    )

    # Then the real one passes and the made-up one fails
    assert good["region"].level == "PASS"
    assert bad["region"].level == "FAIL"


@pytest.mark.parametrize(
    ("limit", "unreserved", "reserved", "level"),
    [
        (10, 10, 0, "WARN"),  # a fresh account: nothing reserved, but 10 concurrent executions
        (1000, 1000, 0, "PASS"),
        (1000, 1000, 50, "PASS"),  # 11 x 50 + 4 = 554 reserved, 446 left
        (1000, 1000, 82, "FAIL"),  # 11 x 82 + 4 = 906 reserved, 94 left < 100
        (1000, 600, 50, "FAIL"),  # other stacks reserved 400 already
    ],
)
def test_concurrency_reservations_must_leave_100_unreserved(
    limit: int, unreserved: int, reserved: int, level: str
) -> None:
    assert _preflight().evaluate_concurrency(limit, unreserved, reserved).level == level


def test_the_cli_reads_samconfig_and_exits_1_on_a_failure(
    moto_endpoint: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a fresh moto account reached through AWS_ENDPOINT_URL
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "".join(str(uuid.uuid4().int)[:12]))
    preflight = _preflight()

    # When the CLI runs for prod
    code = preflight.main(["--region", "eu-west-1", "--env", "prod"])

    # Then it prints one line per check and a summary, and fails
    out = capsys.readouterr().out.splitlines()
    assert code == 1
    assert out[-1].startswith("preflight: ") and "failing" in out[-1]
    assert any(line.startswith("FAIL region:") for line in out)
    assert preflight.samconfig_reserved_concurrency("prod") == 50
