"""Read-only checks of an AWS account before the first `make deploy` (docs/deploy.md, "Preflight").

    python scripts/preflight.py --region us-east-1 [--env dev] [--create-guardduty]
        [--no-api-gateway-role] [--cloudfront-web-acl-arn ARN]

Each check prints one ``PASS``/``WARN``/``FAIL`` line with what to do; the exit status is 1 when a
check fails. Only Describe/Get/List calls are made: nothing in the account changes.

What a fresh account lacks, and how a first deploy fails without it:
* the ECS, RDS, ELB and Application Auto Scaling service-linked roles (ECS: "Unable to assume the
  service linked role" when the matcher service is created);
* the account-wide API Gateway CloudWatch role (the REST and WebSocket stages fail to create
  with access logging on): baseline.yaml sets it;
* Lambda concurrency: new accounts start at 10 concurrent executions; reserved concurrency
  (``DbReservedConcurrency`` for each of the 11 database functions, 1 for each schedule and the
  migration) must leave 100 unreserved;
* a GuardDuty detector that already exists (a second one fails to create) when the baseline is
  asked to create one;
* the region: a CLOUDFRONT-scope web ACL exists only in us-east-1, so elsewhere pass an existing
  one as ``CloudFrontWebAclArn``.
"""

from __future__ import annotations

import argparse
import re
import sys
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

SERVICE_LINKED_ROLES = {
    "AWSServiceRoleForECS": "ecs.amazonaws.com",
    "AWSServiceRoleForRDS": "rds.amazonaws.com",
    "AWSServiceRoleForElasticLoadBalancing": "elasticloadbalancing.amazonaws.com",
    "AWSServiceRoleForApplicationAutoScaling_ECSService": "ecs.application-autoscaling.amazonaws.com",
}
DB_FUNCTIONS = 11  # template.yaml: functions with DbReservedConcurrency
SINGLE_RESERVED = 4  # hold_sweeper, reconcile, trade_export, migrate reserve 1 each when reserving
UNRESERVED_FLOOR = 100  # Lambda keeps at least this many unreserved
LOW_ACCOUNT_LIMIT = 100  # below this the API cannot serve a burst (new accounts start at 10)
CLOUDFRONT_REGION = "us-east-1"


@dataclass(frozen=True)
class Finding:
    level: str  # PASS, WARN, FAIL
    check: str
    detail: str

    def line(self) -> str:
        return f"{self.level} {self.check}: {self.detail}"


def _error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", type(exc).__name__))


def check_region(region: str, web_acl_arn: str, wafv2: Any | None) -> Finding:
    if not web_acl_arn:
        if region == CLOUDFRONT_REGION:
            return Finding("PASS", "region", "us-east-1: the stack creates its CLOUDFRONT-scope web ACL")
        return Finding(
            "FAIL",
            "region",
            f"{region}: CLOUDFRONT-scope WAF lives only in us-east-1; create a web ACL there and pass "
            "--cloudfront-web-acl-arn (CloudFrontWebAclArn), or deploy to us-east-1",
        )
    match = re.fullmatch(r"arn:aws[a-z-]*:wafv2:us-east-1:\d{12}:global/webacl/([^/]+)/([^/]+)", web_acl_arn)
    if match is None:
        return Finding(
            "FAIL", "region", f"{web_acl_arn} is not a CLOUDFRONT-scope (global, us-east-1) web ACL ARN"
        )
    if wafv2 is not None:
        try:
            wafv2.get_web_acl(Name=match.group(1), Id=match.group(2), Scope="CLOUDFRONT")
        except Exception as exc:
            return Finding("FAIL", "region", f"web ACL {web_acl_arn} not readable: {_error_code(exc)}")
    return Finding("PASS", "region", f"{region} with the existing CloudFront web ACL {match.group(1)}")


def check_service_linked_roles(iam: Any) -> list[Finding]:
    findings = []
    for role, service in SERVICE_LINKED_ROLES.items():
        try:
            iam.get_role(RoleName=role)
        except Exception as exc:
            if _error_code(exc) != "NoSuchEntity":
                findings.append(
                    Finding("WARN", f"service-linked role {role}", f"not readable: {_error_code(exc)}")
                )
                continue
            findings.append(
                Finding(
                    "FAIL",
                    f"service-linked role {role}",
                    f"missing: aws iam create-service-linked-role --aws-service-name {service}",
                )
            )
        else:
            findings.append(Finding("PASS", f"service-linked role {role}", "present"))
    return findings


def evaluate_concurrency(limit: int, unreserved: int, db_reserved_concurrency: int) -> Finding:
    """Whether the stack's reservations fit the account's Lambda concurrency."""
    wanted = DB_FUNCTIONS * db_reserved_concurrency + (SINGLE_RESERVED if db_reserved_concurrency else 0)
    if wanted and unreserved - wanted < UNRESERVED_FLOOR:
        return Finding(
            "FAIL",
            "lambda concurrency",
            f"DbReservedConcurrency={db_reserved_concurrency} reserves {wanted} of {unreserved} unreserved "
            f"(limit {limit}); Lambda keeps {UNRESERVED_FLOOR} unreserved: lower it or request a quota "
            "increase (Service Quotas, Lambda L-B99A9384)",
        )
    if limit < LOW_ACCOUNT_LIMIT:
        return Finding(
            "WARN",
            "lambda concurrency",
            f"account limit {limit} concurrent executions (new accounts start at 10): the API will throttle "
            "under any load; request an increase (Service Quotas, Lambda L-B99A9384)",
        )
    return Finding(
        "PASS", "lambda concurrency", f"limit {limit}, {unreserved} unreserved, {wanted} to reserve"
    )


def check_concurrency(lambda_client: Any, db_reserved_concurrency: int) -> Finding:
    try:
        limits = lambda_client.get_account_settings()["AccountLimit"]
    except Exception as exc:
        return Finding("WARN", "lambda concurrency", f"account settings not readable: {_error_code(exc)}")
    return evaluate_concurrency(
        int(limits["ConcurrentExecutions"]),
        int(limits["UnreservedConcurrentExecutions"]),
        db_reserved_concurrency,
    )


def check_guardduty(guardduty: Any, create_detector: bool) -> Finding:
    try:
        detectors = guardduty.list_detectors()["DetectorIds"]
    except Exception as exc:
        return Finding("WARN", "guardduty", f"detectors not readable: {_error_code(exc)}")
    if detectors and create_detector:
        return Finding(
            "FAIL",
            "guardduty",
            f"detector {detectors[0]} exists (one per account/region): deploy baseline.yaml with "
            "CreateGuardDutyDetector=false",
        )
    if detectors:
        return Finding("PASS", "guardduty", f"detector {detectors[0]} already on; baseline leaves it alone")
    if create_detector:
        return Finding("PASS", "guardduty", "no detector: baseline.yaml creates one")
    return Finding("WARN", "guardduty", "no detector: consider CreateGuardDutyDetector=true in baseline.yaml")


def check_api_gateway_role(apigateway: Any, baseline_sets_role: bool) -> Finding:
    try:
        role = apigateway.get_account().get("cloudwatchRoleArn")
    except Exception as exc:
        return Finding(
            "WARN", "api gateway logging role", f"account settings not readable: {_error_code(exc)}"
        )
    if role:
        detail = f"set ({role})"
        if baseline_sets_role:
            detail += "; baseline.yaml with CreateApiGatewayAccountRole=true would replace it"
        return Finding("PASS", "api gateway logging role", detail)
    if baseline_sets_role:
        return Finding("PASS", "api gateway logging role", "not set: baseline.yaml sets it (deploy it first)")
    return Finding(
        "FAIL",
        "api gateway logging role",
        "not set: stages with access logs fail to create; deploy baseline.yaml with "
        "CreateApiGatewayAccountRole=true",
    )


def check_cloudtrail(cloudtrail: Any) -> Finding:
    try:
        trails = cloudtrail.describe_trails(includeShadowTrails=True)["trailList"]
    except Exception as exc:
        return Finding("WARN", "cloudtrail", f"trails not readable: {_error_code(exc)}")
    multi = [t["Name"] for t in trails if t.get("IsMultiRegionTrail")]
    if multi:
        return Finding("PASS", "cloudtrail", f"multi-region trail {multi[0]} records the account")
    return Finding(
        "WARN", "cloudtrail", "no multi-region trail: consider CreateCloudTrail=true in baseline.yaml"
    )


def samconfig_reserved_concurrency(env: str, samconfig: Path = ROOT / "samconfig.toml") -> int:
    config = tomllib.loads(samconfig.read_text(encoding="utf-8"))
    overrides = dict(
        item.split("=", 1) for item in config[env]["deploy"]["parameters"]["parameter_overrides"]
    )
    return int(overrides.get("DbReservedConcurrency", "0"))


def run(
    client: Callable[..., Any],
    region: str,
    *,
    db_reserved_concurrency: int,
    create_guardduty: bool = False,
    baseline_sets_api_gateway_role: bool = True,
    cloudfront_web_acl_arn: str = "",
) -> list[Finding]:
    """Every check; ``client(service, region)`` returns a boto3 client."""
    wafv2 = client("wafv2", CLOUDFRONT_REGION) if cloudfront_web_acl_arn else None
    return [
        check_region(region, cloudfront_web_acl_arn, wafv2),
        *check_service_linked_roles(client("iam", region)),
        check_concurrency(client("lambda", region), db_reserved_concurrency),
        check_guardduty(client("guardduty", region), create_guardduty),
        check_api_gateway_role(client("apigateway", region), baseline_sets_api_gateway_role),
        check_cloudtrail(client("cloudtrail", region)),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--env", default="dev", help="samconfig environment (reads DbReservedConcurrency)")
    parser.add_argument("--create-guardduty", action="store_true", help="baseline will create a detector")
    parser.add_argument(
        "--no-api-gateway-role",
        action="store_true",
        help="baseline will not set the API Gateway logging role",
    )
    parser.add_argument("--cloudfront-web-acl-arn", default="")
    args = parser.parse_args(argv)

    import boto3  # noqa: PLC0415 - the checks above take any client (tests pass moto's)

    findings = run(
        lambda service, region: boto3.client(service, region_name=region),
        args.region,
        db_reserved_concurrency=samconfig_reserved_concurrency(args.env),
        create_guardduty=args.create_guardduty,
        baseline_sets_api_gateway_role=not args.no_api_gateway_role,
        cloudfront_web_acl_arn=args.cloudfront_web_acl_arn,
    )
    for finding in findings:
        sys.stdout.write(finding.line() + "\n")
    failed = [f for f in findings if f.level == "FAIL"]
    sys.stdout.write(f"preflight: {len(failed)} failing, {len(findings) - len(failed)} ok or warnings\n")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
