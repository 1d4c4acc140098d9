"""Issue 14: what a first `sam deploy` into a fresh account needs from template.yaml and baseline.yaml.

Each test here failed on the template before the fix it guards.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

from localcloud.template import load_template

REPO_ROOT = Path(__file__).resolve().parents[2]

# Properties that give a resource a fixed physical name.
NAME_PROPERTIES = {
    "BackupVaultName",
    "BucketName",
    "QueueName",
    "TopicName",
    "TableName",
    "TrailName",
    "LogGroupName",
    "Name",
    "RoleName",
    "FunctionName",
    "DBClusterIdentifier",
    "DBInstanceIdentifier",
}

ACCOUNT_LEVEL_TYPES = {"AWS::GuardDuty::Detector", "AWS::CloudTrail::Trail", "AWS::ApiGateway::Account"}


def _of_type(resources: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {lid: r for lid, r in resources.items() if r["Type"] == resource_type}


def test_the_rest_api_has_only_the_environment_stage(cfn_resources: dict[str, Any]) -> None:
    # Given the translated REST API
    deployments = _of_type(cfn_resources, "AWS::ApiGateway::Deployment")
    stages = _of_type(cfn_resources, "AWS::ApiGateway::Stage")

    # When listing the stages SAM creates (a Deployment with StageName creates one as well)
    implicit = {
        lid: d["Properties"]["StageName"] for lid, d in deployments.items() if "StageName" in d["Properties"]
    }

    # Then no implicit "Stage" stage exists: only the stage named after the environment, behind the WAF
    assert implicit == {}
    assert [s["Properties"]["StageName"] for s in stages.values()] == [{"Ref": "Environment"}]


def test_a_retained_resource_never_has_a_name_a_retry_would_collide_with(resources: dict[str, Any]) -> None:
    # Given every resource a stack delete (or failed create) leaves behind
    retained = {lid: r for lid, r in resources.items() if r.get("DeletionPolicy") == "Retain"}

    # When reading the properties that fix its physical name
    def fixed_names(resource: dict[str, Any]) -> list[str]:
        props = resource.get("Properties", {})
        return [key for key in NAME_PROPERTIES & set(props) if "AWS::StackId" not in json.dumps(props[key])]

    colliding = {lid: fixed_names(r) for lid, r in retained.items() if fixed_names(r)}

    # Then each such name is generated or unique per stack creation (the backup vault's stack id suffix)
    assert "BackupVault" in retained
    assert colliding == {}


def test_every_event_rule_target_dead_letters_to_a_queue_that_alarms(cfn_resources: dict[str, Any]) -> None:
    # Given every EventBridge rule after translation (SAM's event sources included)
    rules = _of_type(cfn_resources, "AWS::Events::Rule")
    alarmed = {
        json.dumps(a["Properties"]["Dimensions"][0]["Value"])
        for a in _of_type(cfn_resources, "AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("MetricName") == "ApproximateNumberOfMessagesVisible"
    }
    policies = _of_type(cfn_resources, "AWS::SQS::QueuePolicy").values()

    # When reading each target's dead-letter config
    for rule_id, rule in rules.items():
        for target in rule["Properties"].get("Targets", []):
            if rule["Properties"].get("ScheduleExpression"):
                continue  # schedules invoke functions whose own async config handles failures
            dlq = target.get("DeadLetterConfig", {}).get("Arn")
            # Then events that cannot be delivered land in a queue the rule may write and an alarm watches
            assert dlq is not None, (rule_id, target["Id"])
            queue = dlq["Fn::GetAtt"][0]
            assert json.dumps({"Fn::GetAtt": [queue, "QueueName"]}) in alarmed, queue
            assert any(
                p["Properties"]["Queues"] == [{"Ref": queue}]
                and any(
                    st["Principal"] == {"Service": "events.amazonaws.com"}
                    and st["Condition"]["ArnEquals"]["aws:SourceArn"] == {"Fn::GetAtt": [rule_id, "Arn"]}
                    for st in p["Properties"]["PolicyDocument"]["Statement"]
                )
                for p in policies
            ), (rule_id, queue)
    assert "AllTradingEventsRule" in rules


def _alarmed_functions(alarms: dict[str, Any], metric: str) -> list[str]:
    functions = []
    for alarm in alarms.values():
        for query in alarm.get("Metrics", []):
            stat = query.get("MetricStat")
            if (
                stat
                and stat["Metric"]["Namespace"] == "AWS/Lambda"
                and stat["Metric"]["MetricName"] == metric
            ):
                functions += [
                    d["Value"]["Ref"] for d in stat["Metric"]["Dimensions"] if d["Name"] == "FunctionName"
                ]
    return functions


def test_every_function_has_error_and_throttle_alarms(resources: dict[str, Any]) -> None:
    # Given every function and every alarm of the stack
    functions = {lid for lid, r in resources.items() if r["Type"] == "AWS::Serverless::Function"}
    alarms = {lid: r["Properties"] for lid, r in _of_type(resources, "AWS::CloudWatch::Alarm").items()}

    # When collecting the functions each Lambda metric alarm watches
    errors = _alarmed_functions(alarms, "Errors")
    throttles = _alarmed_functions(alarms, "Throttles")

    # Then each function is watched once for each, no alarm exceeds CloudWatch's 10 metrics, all notify SNS
    assert sorted(errors) == sorted(functions)
    assert sorted(throttles) == sorted(functions)
    for alarm in alarms.values():
        if "Metrics" in alarm:
            assert len([q for q in alarm["Metrics"] if "MetricStat" in q]) <= 10
            assert [q["Id"] for q in alarm["Metrics"] if q.get("ReturnData")] == ["total"]
            assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]


def test_matcher_tasks_and_aurora_connections_and_capacity_alarm(resources: dict[str, Any]) -> None:
    # Given the alarms by metric
    alarms = [r["Properties"] for r in _of_type(resources, "AWS::CloudWatch::Alarm").values()]

    def watching(namespace: str, metric: str) -> dict[str, Any]:
        (alarm,) = [a for a in alarms if a.get("Namespace") == namespace and a.get("MetricName") == metric]
        return alarm

    # When reading the matcher and database alarms
    running = watching("ECS/ContainerInsights", "RunningTaskCount")
    connections = watching("AWS/RDS", "DatabaseConnections")
    capacity = watching("AWS/RDS", "ACUUtilization")

    # Then fewer running tasks than the minimum (or no data: no task reports) alarms,
    # and the cluster's connections and ACU utilisation alarm before saturation
    assert running["Threshold"] == {"Ref": "MatcherMinTasks"}
    assert running["ComparisonOperator"] == "LessThanThreshold" and running["TreatMissingData"] == "breaching"
    assert {d["Name"] for d in running["Dimensions"]} == {"ClusterName", "ServiceName"}
    assert resources["MatcherCluster"]["Properties"]["ClusterSettings"] == [
        {"Name": "containerInsights", "Value": "enabled"}
    ]
    for alarm in (connections, capacity):
        assert alarm["Dimensions"] == [{"Name": "DBClusterIdentifier", "Value": {"Ref": "DbCluster"}}]
        assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
        assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]
    assert connections["Threshold"] == {"Ref": "DbConnectionsAlarmThreshold"}
    assert capacity["Threshold"] == 90


def test_the_regional_rate_rules_key_on_the_client_behind_cloudfront(resources: dict[str, Any]) -> None:
    # Given the REST stage's web ACL, which sees CloudFront's addresses for /v1/* through the edge
    rules = {r["Name"]: r for r in resources["RegionalWebAcl"]["Properties"]["Rules"]}
    rate = {
        name: r["Statement"]["RateBasedStatement"]
        for name, r in rules.items()
        if "RateBasedStatement" in r["Statement"]
    }

    # When reading the rate rules' aggregate keys
    forwarded = [s for s in rate.values() if s["AggregateKeyType"] == "FORWARDED_IP"]
    direct = [s for s in rate.values() if s["AggregateKeyType"] == "IP"]

    # Then forwarded requests count per X-Forwarded-For client, and only requests without that header
    # count per source address (so an edge location is never one "client")
    (fwd,) = forwarded
    assert fwd["ForwardedIPConfig"] == {"HeaderName": "X-Forwarded-For", "FallbackBehavior": "MATCH"}
    (own,) = direct
    size = own["ScopeDownStatement"]["NotStatement"]["Statement"]["SizeConstraintStatement"]
    assert size["FieldToMatch"] == {"SingleHeader": {"Name": "x-forwarded-for"}}
    assert (size["ComparisonOperator"], size["Size"]) == ("GT", 0)
    assert all(r["Action"] == {"Block": {}} for name, r in rules.items() if name in rate)


def test_account_level_resources_live_only_in_the_optional_baseline(resources: dict[str, Any]) -> None:
    # Given the app template and the baseline template
    baseline = load_template(REPO_ROOT / "baseline.yaml")
    guide = (REPO_ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")

    # When looking for per-account resources
    in_app = {lid for lid, r in resources.items() if r["Type"] in ACCOUNT_LEVEL_TYPES}
    in_baseline = {
        r["Type"]: r.get("Condition")
        for r in baseline["Resources"].values()
        if r["Type"] in ACCOUNT_LEVEL_TYPES
    }

    # Then the app stack holds none, and the baseline holds each behind its own switch and is documented
    assert in_app == set()
    assert in_baseline == {
        "AWS::GuardDuty::Detector": "GuardDutyEnabled",
        "AWS::CloudTrail::Trail": "CloudTrailEnabled",
        "AWS::ApiGateway::Account": "ApiGatewayAccountRoleEnabled",
    }
    assert set(baseline["Parameters"]) == {
        "CreateGuardDutyDetector",
        "CreateCloudTrail",
        "CreateApiGatewayAccountRole",
    }
    assert "baseline.yaml" in guide


def test_the_schema_is_migrated_at_deploy_before_any_database_function(
    resources: dict[str, Any], cfn_resources: dict[str, Any]
) -> None:
    # Given the schema custom resource and the functions that read the database secret
    schema = resources["DbSchema"]
    migrate = resources["MigrateFunction"]["Properties"]
    db_functions = {
        lid
        for lid, r in resources.items()
        if r["Type"] == "AWS::Serverless::Function"
        and any("AWSSecretsManagerGetSecretValuePolicy" in p for p in r["Properties"].get("Policies", []))
    } - {"MigrateFunction"}

    # When reading how they are wired after translation
    def depends(logical_id: str) -> list[str]:
        value = cfn_resources[logical_id].get("DependsOn", [])
        return [value] if isinstance(value, str) else list(value)

    # Then the custom resource runs the migrate function (in the VPC, from functions/migrate), is
    # updated with every new layer, waits for the proxy's targets, and every database function
    # waits for it
    assert schema["Type"] == "Custom::DbSchema"
    assert schema["Properties"]["ServiceToken"] == {"Fn::GetAtt": ["MigrateFunction", "Arn"]}
    assert schema["Properties"]["Layer"] == {"Ref": "TradingLayer"}
    assert "DbProxyTargetGroup" in schema["DependsOn"]
    # ... and the network the function answers through exists before it and after it (a custom
    # resource whose answer cannot leave the VPC keeps CloudFormation waiting for an hour)
    private_routes = {
        lid
        for lid, r in resources.items()
        if r["Type"] == "AWS::EC2::Route" and "Private" in json.dumps(r["Properties"]["RouteTableId"])
    }
    associations = {
        lid
        for lid, r in resources.items()
        if r["Type"] == "AWS::EC2::SubnetRouteTableAssociation"
        and r["Properties"]["SubnetId"] in migrate["VpcConfig"]["SubnetIds"]
    }
    assert len(private_routes) == 2 and len(associations) == 2
    assert private_routes | associations | {"S3GatewayEndpoint", "SecretsManagerInterfaceEndpoint"} <= set(
        schema["DependsOn"]
    )
    assert migrate["CodeUri"] == "functions/migrate/"
    assert migrate["VpcConfig"]["SubnetIds"] == [{"Ref": "PrivateSubnetA"}, {"Ref": "PrivateSubnetB"}]
    assert (REPO_ROOT / "functions" / "migrate" / "app.py").is_file()
    assert len(db_functions) == 11
    for logical_id in db_functions:
        assert "DbSchema" in depends(logical_id), logical_id


def test_the_matcher_image_is_deployed_by_digest_from_the_bootstrap_repository(
    sam_template: dict[str, Any],
) -> None:
    # Given the image parameter, samconfig and the bootstrap template
    parameter = sam_template["Parameters"]["MatcherImageUri"]
    samconfig = tomllib.loads((REPO_ROOT / "samconfig.toml").read_text(encoding="utf-8"))
    listed = [
        item.split("=", 1)
        for env in ("dev", "prod")
        for item in samconfig[env]["deploy"]["parameters"]["parameter_overrides"]
    ]
    bootstrap = load_template(REPO_ROOT / "bootstrap.yaml")
    pattern = re.compile(parameter["AllowedPattern"])

    # When checking what the parameter accepts
    digest = "123456789012.dkr.ecr.us-east-1.amazonaws.com/r@sha256:" + "a1" * 32

    # Then only an immutable digest passes (a tag would never roll out a new image), samconfig names
    # no image (make deploy passes the pushed digest), and the repository never moves a tag
    assert pattern.fullmatch(digest)
    assert not pattern.fullmatch("123456789012.dkr.ecr.us-east-1.amazonaws.com/r:latest")
    assert [value for key, value in listed if key == "MatcherImageUri" or ":latest" in value] == []
    (repository,) = [r for r in bootstrap["Resources"].values() if r["Type"] == "AWS::ECR::Repository"]
    assert repository["Properties"]["ImageTagMutability"] == "IMMUTABLE"
    assert "RepositoryName" not in repository["Properties"]
    assert bootstrap["Outputs"]["MatcherRepositoryUri"]["Value"] == {
        "Fn::GetAtt": ["MatcherRepository", "RepositoryUri"]
    }


def test_the_matcher_service_starts_after_its_subnets_can_reach_ecr(resources: dict[str, Any]) -> None:
    # Given the matcher service in the private subnets
    depends = resources["MatcherService"]["DependsOn"]

    # Then it is created after the private default routes (the image pull goes through NAT)
    assert {"PrivateDefaultRouteA", "PrivateDefaultRouteB", "MatcherHealthListenerRule"} <= set(depends)
