"""Every component of the production architecture is in template.yaml and wired (issue 5)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from localcloud.template import load_template
from trading.domain.errors import HTTP_STATUS, ErrorCode

REPO_ROOT = Path(__file__).resolve().parents[2]


def _of_type(resources: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {lid: r for lid, r in resources.items() if r["Type"] == resource_type}


def _props(resources: dict[str, Any], logical_id: str) -> dict[str, Any]:
    return dict(resources[logical_id]["Properties"])


def _sub_text(value: Any) -> str:
    return str(value["Fn::Sub"] if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"][0])


DB_FUNCTIONS = {
    "PlaceOrderFunction",
    "CancelOrderFunction",
    "AmendOrderFunction",
    "AccountQueriesFunction",
    "MarketDataFunction",
    "SettleFunction",
    "OrderArchiverFunction",
    "HoldSweeperFunction",
    "ReconcileFunction",
    "TradeExportFunction",
    "AdminFunction",
    "MigrateFunction",
}


# ---------------------------------------------------------------- compute
def test_every_function_traces_actively_after_translation(cfn_resources: dict[str, Any]) -> None:
    # Given the translated Lambda functions
    functions = _of_type(cfn_resources, "AWS::Lambda::Function")

    # When reading their tracing and runtime
    # Then X-Ray is Active on all 17 and they run Python 3.11 with the trading layer
    assert len(functions) == 17
    for logical_id, resource in functions.items():
        props = resource["Properties"]
        assert props["TracingConfig"] == {"Mode": "Active"}, logical_id
        assert props["Runtime"] == "python3.11"
        assert props["Layers"] == [{"Ref": next(iter(_of_type(cfn_resources, "AWS::Lambda::LayerVersion")))}]


def test_globals_carry_powertools_settings(sam_template: dict[str, Any]) -> None:
    # Given the function Globals
    globals_ = sam_template["Globals"]["Function"]

    # When reading them
    # Then Powertools' namespace and log level are set for every function
    env = globals_["Environment"]["Variables"]
    assert env["POWERTOOLS_METRICS_NAMESPACE"] == "Trading"
    assert env["LOG_LEVEL"] == "INFO"
    assert globals_["Tracing"] == "Active"
    assert globals_["Runtime"] == "python3.11"


def test_trading_layer_is_built_by_its_makefile(resources: dict[str, Any]) -> None:
    # Given the layer resource
    layer = resources["TradingLayer"]

    # When reading its build metadata
    # Then SAM builds it with layers/trading/Makefile (target build-TradingLayer)
    assert layer["Type"] == "AWS::Serverless::LayerVersion"
    assert layer["Properties"]["ContentUri"] == "layers/trading/"
    assert layer["Metadata"]["BuildMethod"] == "makefile"
    makefile = Path(__file__).resolve().parents[2] / "layers" / "trading" / "Makefile"
    assert "build-TradingLayer:" in makefile.read_text(encoding="utf-8")


def test_every_function_logs_to_its_own_group_with_retention(resources: dict[str, Any]) -> None:
    # Given the SAM functions
    functions = _of_type(resources, "AWS::Serverless::Function")

    # When following LoggingConfig to the log group
    for logical_id, resource in functions.items():
        group_ref = resource["Properties"]["LoggingConfig"]["LogGroup"]
        group = resources[group_ref["Ref"]]
        # Then the group is declared in the template with the configured retention
        assert group["Type"] == "AWS::Logs::LogGroup", logical_id
        assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}


def test_database_functions_run_in_the_vpc_with_reserved_concurrency(resources: dict[str, Any]) -> None:
    # Given the functions that read the database secret
    readers = {
        lid
        for lid, r in _of_type(resources, "AWS::Serverless::Function").items()
        if any("AWSSecretsManagerGetSecretValuePolicy" in p for p in r["Properties"].get("Policies", []))
    }

    # When reading their network and concurrency settings
    # Then exactly the documented DB functions reach the proxy from private subnets, with a concurrency cap
    assert readers == DB_FUNCTIONS
    for logical_id in readers:
        props = _props(resources, logical_id)
        assert props["VpcConfig"]["SubnetIds"] == [{"Ref": "PrivateSubnetA"}, {"Ref": "PrivateSubnetB"}]
        concurrency = props["ReservedConcurrentExecutions"]["Fn::If"]
        assert concurrency[0] == "HasReservedConcurrency" and concurrency[2] == {"Ref": "AWS::NoValue"}


def test_function_roles_are_least_privileged(cfn_resources: dict[str, Any]) -> None:
    # Given the IAM roles SAM generated for the functions
    roles = {
        lid: r for lid, r in _of_type(cfn_resources, "AWS::IAM::Role").items() if lid.endswith("FunctionRole")
    }

    # When reading their inline statements and managed policies
    # Then nothing grants "*" actions, and wildcard resources are limited to X-Ray's managed policy
    assert len(roles) == 17
    for logical_id, role in roles.items():
        managed = [json.dumps(m) for m in role["Properties"].get("ManagedPolicyArns", [])]
        assert not any("FullAccess" in m or "AdministratorAccess" in m for m in managed), logical_id
        for policy in role["Properties"].get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                actions = (
                    statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                )
                assert "*" not in actions and not any(a.endswith(":*") for a in actions), logical_id
                assert statement.get("Resource") != "*", (logical_id, statement)


# ---------------------------------------------------------------- APIs
def test_rest_api_has_tracing_access_logs_method_settings_and_the_authorizer(
    resources: dict[str, Any],
) -> None:
    # Given the REST API
    api = _props(resources, "RestApi")

    # When reading its settings
    authorizer = api["Auth"]["Authorizers"]["SignedRequestAuthorizer"]

    # Then X-Ray, access logs, throttled method settings and a header-identity REQUEST authorizer are set
    assert api["TracingEnabled"] is True
    assert api["AccessLogSetting"]["DestinationArn"] == {"Fn::GetAtt": ["RestApiAccessLogGroup", "Arn"]}
    (settings,) = api["MethodSettings"]
    assert settings["ResourcePath"] == "/*" and settings["HttpMethod"] == "*"
    assert settings["MetricsEnabled"] is True and settings["ThrottlingRateLimit"] > 0
    assert api["Auth"]["DefaultAuthorizer"] == "SignedRequestAuthorizer"
    assert api["Auth"]["ApiKeyRequired"] is True
    assert authorizer["FunctionPayloadType"] == "REQUEST"
    assert authorizer["FunctionArn"] == {"Fn::GetAtt": ["AuthorizerFunction", "Arn"]}
    # every signature header is an identity source, and no decision is cached (ADR 0003: no cache
    # key can cover the signed path with its query, so a cached Allow would serve unsigned requests)
    signature_headers = ["X-API-Key", "X-Timestamp", "X-Content-SHA256", "X-Signature"]
    assert authorizer["Identity"]["Headers"] == signature_headers
    assert authorizer["Identity"]["ReauthorizeEvery"] == 0


def test_gateway_responses_speak_the_api_error_codes(resources: dict[str, Any]) -> None:
    # Given the REST API's gateway responses (API Gateway answers these without any function)
    responses = _props(resources, "RestApi")["GatewayResponses"]

    # When reading their bodies
    codes = {
        kind: json.loads(response["ResponseTemplates"]["application/json"])["code"]
        for kind, response in responses.items()
    }

    # Then each one uses a documented error code with the matching HTTP status
    for kind, code in codes.items():
        assert int(responses[kind]["StatusCode"]) == HTTP_STATUS[ErrorCode(code)], kind
    assert codes["THROTTLED"] == codes["QUOTA_EXCEEDED"] == "RATE_LIMITED"
    assert codes["MISSING_AUTHENTICATION_TOKEN"] == "NOT_FOUND"  # an undeclared route: 404, not 403


def test_intake_functions_share_the_message_group_scheme(resources: dict[str, Any]) -> None:
    # Given the functions that send commands to orders.fifo
    for logical_id in ("PlaceOrderFunction", "CancelOrderFunction", "AmendOrderFunction"):
        # Then they all take the MessageGroupId scheme from one parameter
        variables = _props(resources, logical_id)["Environment"]["Variables"]
        assert variables["ORDER_GROUP_SCHEME"] == {"Ref": "OrderGroupScheme"}, logical_id


def test_usage_plans_throttle_per_key_for_each_tier(resources: dict[str, Any]) -> None:
    # Given the usage plans and their keys
    plans = _of_type(resources, "AWS::ApiGateway::UsagePlan")
    plan_keys = _of_type(resources, "AWS::ApiGateway::UsagePlanKey")

    # When reading them
    # Then each tier throttles and caps per key on the REST stage, and has a key attached
    assert set(plans) == {"StandardUsagePlan", "ProUsagePlan"}
    for logical_id, plan in plans.items():
        props = plan["Properties"]
        assert props["ApiStages"] == [{"ApiId": {"Ref": "RestApi"}, "Stage": {"Ref": "RestApi.Stage"}}]
        assert set(props["Throttle"]) == {"RateLimit", "BurstLimit"}
        assert props["Quota"]["Period"] == "DAY"
        assert any(k["Properties"]["UsagePlanId"] == {"Ref": logical_id} for k in plan_keys.values())


def test_websocket_api_routes_integrations_stage_and_permissions(resources: dict[str, Any]) -> None:
    # Given the WebSocket API resources
    api = _props(resources, "WebSocketApi")
    routes = {
        r["Properties"]["RouteKey"]: r["Properties"]
        for r in _of_type(resources, "AWS::ApiGatewayV2::Route").values()
    }
    integrations = _of_type(resources, "AWS::ApiGatewayV2::Integration")
    stage = _props(resources, "WsStage")

    # When following each route to its function
    def function_of(route: dict[str, Any]) -> str:
        integration_id = re.fullmatch(r"integrations/\$\{(\w+)\}", route["Target"]["Fn::Sub"])
        assert integration_id is not None
        uri = integrations[integration_id.group(1)]["Properties"]["IntegrationUri"]["Fn::Sub"]
        found = re.search(r"\$\{(\w+Function)\.Arn\}", uri)
        assert found is not None
        return found.group(1)

    # Then the documented routes reach the documented functions, the stage throttles, API Gateway may invoke
    assert api["ProtocolType"] == "WEBSOCKET"
    assert api["RouteSelectionExpression"] == "$request.body.action"
    assert {key: function_of(route) for key, route in routes.items()} == {
        "$connect": "WsConnectFunction",
        "$disconnect": "WsDisconnectFunction",
        "subscribe": "WsMessagesFunction",
        "unsubscribe": "WsMessagesFunction",
        "ping": "WsMessagesFunction",
        "$default": "WsMessagesFunction",
    }
    assert stage["StageName"] == "ws"
    assert stage["DefaultRouteSettings"]["ThrottlingRateLimit"] > 0
    assert stage["DeploymentId"] == {"Ref": "WsDeployment"}
    assert set(resources["WsDeployment"]["DependsOn"]) == {
        lid for lid, r in resources.items() if r["Type"] == "AWS::ApiGatewayV2::Route"
    }
    permitted = {
        p["Properties"]["FunctionName"]["Ref"]
        for p in _of_type(resources, "AWS::Lambda::Permission").values()
    }
    assert permitted == {"WsConnectFunction", "WsDisconnectFunction", "WsMessagesFunction"}


# ---------------------------------------------------------------- edge
def _managed_rule_groups(acl: dict[str, Any]) -> set[str]:
    return {
        rule["Statement"]["ManagedRuleGroupStatement"]["Name"]
        for rule in acl["Rules"]
        if "ManagedRuleGroupStatement" in rule["Statement"]
    }


@pytest.mark.parametrize(
    ("acl_id", "scope"), [("RegionalWebAcl", "REGIONAL"), ("CloudFrontWebAcl", "CLOUDFRONT")]
)
def test_web_acls_have_managed_groups_and_a_per_ip_rate_rule(
    acl_id: str, scope: str, resources: dict[str, Any]
) -> None:
    # Given a web ACL
    acl = _props(resources, acl_id)

    # When reading its rules
    rate_rules = [r for r in acl["Rules"] if "RateBasedStatement" in r["Statement"]]

    # Then the three AWS managed groups run and a rate rule blocks per client IP
    assert acl["Scope"] == scope
    assert _managed_rule_groups(acl) == {
        "AWSManagedRulesCommonRuleSet",
        "AWSManagedRulesSQLiRuleSet",
        "AWSManagedRulesKnownBadInputsRuleSet",
    }
    assert rate_rules and all(rate["Action"] == {"Block": {}} for rate in rate_rules)
    keys = {rate["Statement"]["RateBasedStatement"]["AggregateKeyType"] for rate in rate_rules}
    # The edge ACL sees the viewer's address; the regional one keys forwarded traffic on
    # X-Forwarded-For and direct callers on their address (tests/template/test_deploy_findings.py).
    assert keys == ({"IP"} if scope == "CLOUDFRONT" else {"FORWARDED_IP", "IP"})


def test_waf_is_associated_with_cloudfront_and_the_rest_stage(resources: dict[str, Any]) -> None:
    # Given the regional association and the distribution
    association = _props(resources, "RestApiWebAclAssociation")
    distribution = _props(resources, "Distribution")["DistributionConfig"]

    # When reading what they point at
    # Then the REST stage is behind the regional ACL and CloudFront behind the edge ACL (or a given one)
    assert association["WebACLArn"] == {"Fn::GetAtt": ["RegionalWebAcl", "Arn"]}
    assert _sub_text(association["ResourceArn"]).endswith("/restapis/${RestApi}/stages/${RestApi.Stage}")
    condition, when_created, otherwise = distribution["WebACLId"]["Fn::If"]
    assert condition == "CreateCloudFrontWebAcl"
    assert resources["CloudFrontWebAcl"]["Condition"] == "CreateCloudFrontWebAcl"
    assert when_created == {"Fn::GetAtt": ["CloudFrontWebAcl", "Arn"]}
    assert otherwise["Fn::If"][:2] == ["HasExternalCloudFrontWebAcl", {"Ref": "CloudFrontWebAclArn"}]


def test_cloudfront_serves_the_bucket_with_oac_https_security_headers_and_routes_the_apis(
    resources: dict[str, Any],
) -> None:
    # Given the distribution
    config = _props(resources, "Distribution")["DistributionConfig"]
    origins = {o["Id"]: o for o in config["Origins"]}
    behaviors = {b["PathPattern"]: b for b in config["CacheBehaviors"]}

    # When reading origins and behaviours
    default = config["DefaultCacheBehavior"]

    # Then the web bucket goes through OAC, /v1/* reaches the REST stage and /ws the WebSocket stage
    assert origins["web"]["OriginAccessControlId"] == {"Fn::GetAtt": ["WebOriginAccessControl", "Id"]}
    assert origins["web"]["DomainName"] == {"Fn::GetAtt": ["WebBucket", "RegionalDomainName"]}
    assert origins["rest-api"]["OriginPath"] == {"Fn::Sub": "/${Environment}"}
    assert "${RestApi}" in _sub_text(origins["rest-api"]["DomainName"])
    assert "${WebSocketApi}" in _sub_text(origins["websocket-api"]["DomainName"])
    assert behaviors["/v1/*"]["TargetOriginId"] == "rest-api"
    assert behaviors["/ws"]["TargetOriginId"] == "websocket-api"
    assert default["ViewerProtocolPolicy"] == "redirect-to-https"
    assert all(b["ViewerProtocolPolicy"] == "https-only" for b in behaviors.values())
    assert default["ResponseHeadersPolicyId"] == {"Ref": "SecurityHeadersPolicy"}
    assert behaviors["/v1/*"]["ResponseHeadersPolicyId"] == {"Ref": "SecurityHeadersPolicy"}
    headers = _props(resources, "SecurityHeadersPolicy")["ResponseHeadersPolicyConfig"][
        "SecurityHeadersConfig"
    ]
    assert {"StrictTransportSecurity", "ContentTypeOptions", "FrameOptions", "ContentSecurityPolicy"} <= set(
        headers
    )
    statements = _props(resources, "WebBucketPolicy")["PolicyDocument"]["Statement"]
    oac = next(s for s in statements if s["Principal"] == {"Service": "cloudfront.amazonaws.com"})
    assert "${Distribution}" in _sub_text(oac["Condition"]["StringEquals"]["AWS:SourceArn"])


def test_shield_advanced_and_global_accelerator_sit_behind_conditions(resources: dict[str, Any]) -> None:
    # Given the optional edge resources
    shield = _of_type(resources, "AWS::Shield::Protection")
    accelerator_parts = ("Accelerator", "AcceleratorListener", "AcceleratorEndpointGroup")

    # When reading their conditions and wiring
    endpoint = _props(resources, "AcceleratorEndpointGroup")["EndpointConfigurations"][0]

    # Then Shield Advanced is opt-in, and the accelerator (opt-in) routes to the matcher ALB
    assert {r["Condition"] for r in shield.values()} <= {
        "ShieldAdvancedEnabled",
        "ShieldAdvancedOnAccelerator",
    }
    assert resources["DistributionShieldProtection"]["Condition"] == "ShieldAdvancedEnabled"
    assert all(resources[lid]["Condition"] == "GlobalAcceleratorEnabled" for lid in accelerator_parts)
    assert endpoint["EndpointId"] == {"Ref": "MatcherLoadBalancer"}
    assert _props(resources, "AcceleratorEndpointGroup")["HealthCheckPath"] == "/health"


# ---------------------------------------------------------------- matcher on Fargate
def test_matcher_runs_on_fargate_in_private_subnets_of_two_azs_behind_the_alb(
    resources: dict[str, Any],
) -> None:
    # Given the matcher service, its target group and the private subnets
    service = _props(resources, "MatcherService")
    target_group = _props(resources, "MatcherTargetGroup")
    subnets = [_props(resources, lid) for lid in ("PrivateSubnetA", "PrivateSubnetB")]

    # When reading where and how it runs
    network = service["NetworkConfiguration"]["AwsvpcConfiguration"]

    # Then it is a Fargate service in both private subnets (distinct AZs), health-checked on /health,
    # with a deployment circuit breaker that rolls back
    assert service["LaunchType"] == "FARGATE"
    assert network["Subnets"] == [{"Ref": "PrivateSubnetA"}, {"Ref": "PrivateSubnetB"}]
    assert network["AssignPublicIp"] == "DISABLED"
    assert [s["AvailabilityZone"]["Fn::Select"][0] for s in subnets] == [0, 1]
    assert service["DeploymentConfiguration"]["DeploymentCircuitBreaker"] == {
        "Enable": True,
        "Rollback": True,
    }
    assert service["LoadBalancers"][0]["TargetGroupArn"] == {"Ref": "MatcherTargetGroup"}
    assert target_group["HealthCheckPath"] == "/health"
    assert target_group["TargetType"] == "ip"
    container = _props(resources, "MatcherTaskDefinition")["ContainerDefinitions"][0]
    assert container["Image"] == {"Ref": "MatcherImageUri"}
    env = {e["Name"] for e in container["Environment"]}
    assert {
        "ORDERS_TABLE",
        "ORDER_BOOKS_TABLE",
        "INSTRUMENTS_TABLE",
        "ORDERS_QUEUE_URL",
        "EVENT_BUS_NAME",
    } <= env


def test_auto_scaling_targets_the_matcher_on_queue_depth_and_cpu(resources: dict[str, Any]) -> None:
    # Given the scalable target and its policies
    target = _props(resources, "MatcherScalableTarget")
    policies = [
        r["Properties"] for r in _of_type(resources, "AWS::ApplicationAutoScaling::ScalingPolicy").values()
    ]

    # When reading what they scale on
    metrics = [p["TargetTrackingScalingPolicyConfiguration"] for p in policies]
    custom = [m["CustomizedMetricSpecification"] for m in metrics if "CustomizedMetricSpecification" in m]
    predefined = [m["PredefinedMetricSpecification"] for m in metrics if "PredefinedMetricSpecification" in m]

    # Then the matcher service's desired count follows orders.fifo depth and CPU
    assert target["ScalableDimension"] == "ecs:service:DesiredCount"
    assert _sub_text(target["ResourceId"]) == "service/${MatcherCluster}/${MatcherService.Name}"
    assert all(p["ScalingTargetId"] == {"Ref": "MatcherScalableTarget"} for p in policies)
    (queue_metric,) = custom
    assert queue_metric["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert queue_metric["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": ["OrdersQueue", "QueueName"]}}
    ]
    assert predefined == [{"PredefinedMetricType": "ECSServiceAverageCPUUtilization"}]


# ---------------------------------------------------------------- data
def test_aurora_serverless_v2_writer_and_reader_in_two_azs_behind_rds_proxy(
    resources: dict[str, Any],
) -> None:
    # Given the Aurora cluster, instances, proxy and secret rotation
    cluster = _props(resources, "DbCluster")
    instances = [_props(resources, lid) for lid in ("DbWriterInstance", "DbReaderInstance")]
    proxy = _props(resources, "DbProxy")

    # When reading them
    # Then it is encrypted Serverless v2 PostgreSQL, protected from deletion in prod, with one writer and
    # one reader in different AZs, fronted by a TLS proxy with a read-only endpoint and a rotated secret
    assert cluster["Engine"] == "aurora-postgresql"
    assert set(cluster["ServerlessV2ScalingConfiguration"]) == {"MinCapacity", "MaxCapacity"}
    assert cluster["StorageEncrypted"] is True
    assert cluster["DeletionProtection"] == {"Fn::If": ["IsProd", True, False]}
    assert resources["DbCluster"]["DeletionPolicy"] == "Snapshot"
    assert [i["DBInstanceClass"] for i in instances] == ["db.serverless", "db.serverless"]
    assert [i["AvailabilityZone"]["Fn::Select"][0] for i in instances] == [0, 1]
    assert all(i["DBClusterIdentifier"] == {"Ref": "DbCluster"} for i in instances)
    assert proxy["RequireTLS"] is True
    assert proxy["Auth"][0]["SecretArn"] == {"Ref": "DbSecret"}
    assert _props(resources, "DbProxyTargetGroup")["DBClusterIdentifiers"] == [{"Ref": "DbCluster"}]
    assert _props(resources, "DbProxyReaderEndpoint")["TargetRole"] == "READ_ONLY"
    rotation = _props(resources, "DbSecretRotation")
    assert rotation["SecretId"] == {"Ref": "DbSecret"}
    assert rotation["HostedRotationLambda"]["RotationType"] == "PostgreSQLSingleUser"


def test_buckets_block_public_access_encrypt_and_require_tls(resources: dict[str, Any]) -> None:
    # Given every bucket and bucket policy
    buckets = _of_type(resources, "AWS::S3::Bucket")
    policies = {
        r["Properties"]["Bucket"]["Ref"]: r["Properties"]
        for r in _of_type(resources, "AWS::S3::BucketPolicy").values()
    }

    # When reading their settings
    # Then each blocks public access, encrypts at rest and denies non-TLS requests
    assert {"WebBucket", "TradeLogBucket", "BackupsBucket", "AccessLogsBucket"} <= set(buckets)
    for logical_id, bucket in buckets.items():
        props = bucket["Properties"]
        assert set(props["PublicAccessBlockConfiguration"].values()) == {True}, logical_id
        rule = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
        assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in {"AES256", "aws:kms"}
        deny = [s for s in policies[logical_id]["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
        assert any(s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in deny), logical_id
        if logical_id != "AccessLogsBucket":
            assert props["LoggingConfiguration"]["DestinationBucketName"] == {"Ref": "AccessLogsBucket"}


def test_trade_logs_and_backups_transition_to_glacier(resources: dict[str, Any]) -> None:
    # Given the trade-log and backups buckets
    def transitions(logical_id: str) -> list[str]:
        rules = _props(resources, logical_id)["LifecycleConfiguration"]["Rules"]
        return [
            t["StorageClass"] for r in rules if r["Status"] == "Enabled" for t in r.get("Transitions", [])
        ]

    # When reading their lifecycle rules
    # Then objects move to GLACIER
    assert transitions("TradeLogBucket") == ["GLACIER"]
    assert transitions("BackupsBucket") == ["GLACIER"]


def test_backup_plan_covers_aurora_and_the_tables(resources: dict[str, Any]) -> None:
    # Given the backup selection
    selection = _props(resources, "BackupSelection")["BackupSelection"]

    # When reading its resources
    targets = json.dumps(selection["Resources"])

    # Then the Aurora cluster and the state tables are backed up by the plan
    assert _props(resources, "BackupSelection")["BackupPlanId"] == {"Ref": "BackupPlan"}
    assert "cluster:${DbCluster}" in targets
    for table in ("OrdersTable", "OrderBooksTable", "ConnectionsTable", "ApiKeysTable", "InstrumentsTable"):
        assert f'["{table}", "Arn"]' in targets
    rules = _props(resources, "BackupPlan")["BackupPlan"]["BackupPlanRule"]
    assert all(r["TargetBackupVault"] == {"Ref": "BackupVault"} for r in rules)


# ---------------------------------------------------------------- network, security, monitoring
def test_vpc_has_public_and_private_subnets_nat_and_service_endpoints(resources: dict[str, Any]) -> None:
    # Given the VPC endpoints
    endpoints = {
        _sub_text(r["Properties"]["ServiceName"]).rsplit(".", 1)[1]: r["Properties"]["VpcEndpointType"]
        for r in _of_type(resources, "AWS::EC2::VPCEndpoint").values()
    }

    # When listing subnets, NAT gateways and endpoints
    # Then there are two of each subnet kind, a NAT per AZ, and endpoints for DynamoDB/S3/SQS/EventBridge
    assert len(_of_type(resources, "AWS::EC2::Subnet")) == 4
    assert len(_of_type(resources, "AWS::EC2::NatGateway")) == 2
    assert endpoints["dynamodb"] == "Gateway" and endpoints["s3"] == "Gateway"
    assert endpoints["sqs"] == "Interface" and endpoints["events"] == "Interface"


def test_guardduty_and_cloudtrail_are_conditional_and_the_trail_is_validated() -> None:
    # Given the account-level security resources (baseline.yaml since issue 14)
    resources = load_template(REPO_ROOT / "baseline.yaml")["Resources"]
    trail = resources["Trail"]

    # When reading their conditions and settings
    # Then both are opt-in and the trail validates log files into its locked-down bucket
    assert resources["GuardDutyDetector"]["Condition"] == "GuardDutyEnabled"
    assert trail["Condition"] == "CloudTrailEnabled"
    assert resources["CloudTrailBucket"]["Condition"] == "CloudTrailEnabled"
    assert trail["Properties"]["EnableLogFileValidation"] is True
    assert trail["Properties"]["S3BucketName"] == {"Ref": "CloudTrailBucket"}


def test_alarms_cover_dlqs_matcher_lag_api_errors_latency_and_reconciliation(
    resources: dict[str, Any],
) -> None:
    # Given every alarm
    alarms = {lid: r["Properties"] for lid, r in _of_type(resources, "AWS::CloudWatch::Alarm").items()}

    # When grouping them by metric
    def watching(metric: str) -> list[dict[str, Any]]:
        return [a for a in alarms.values() if a.get("MetricName") == metric]

    dlq_names = {
        json.dumps(a["Dimensions"][0]["Value"]) for a in watching("ApproximateNumberOfMessagesVisible")
    }

    # Then each DLQ alarms above 0, lag/5xx/p99/mismatch alarms exist, and all notify the SNS topic
    for dlq in _of_type(resources, "AWS::SQS::Queue"):
        if "DeadLetter" in dlq:
            assert json.dumps({"Fn::GetAtt": [dlq, "QueueName"]}) in dlq_names, dlq
    assert all(a["Threshold"] == 0 for a in watching("ApproximateNumberOfMessagesVisible"))
    assert watching("ApproximateAgeOfOldestMessage")[0]["Dimensions"][0]["Value"] == {
        "Fn::GetAtt": ["OrdersQueue", "QueueName"]
    }
    assert watching("5XXError") and watching("Latency")[0]["ExtendedStatistic"] == "p99"
    (mismatch,) = watching("ReconciliationMismatches")
    assert mismatch["Namespace"] == "Trading" and mismatch["Threshold"] == 0
    (settlement_failures,) = watching("SettlementFailures")
    assert settlement_failures["Dimensions"] == [{"Name": "service", "Value": "settle"}]
    assert all(a["AlarmActions"] == [{"Ref": "AlarmTopic"}] for a in alarms.values())
    assert resources["Dashboard"]["Type"] == "AWS::CloudWatch::Dashboard"


def test_outputs_publish_the_entry_points(sam_template: dict[str, Any]) -> None:
    # Given the template outputs
    outputs = sam_template["Outputs"]

    # When reading them
    # Then the REST URL, WebSocket URL, CloudFront domain and accelerator DNS are there
    assert {"RestApiUrl", "WebSocketUrl", "CloudFrontDomain", "AcceleratorDns"} <= set(outputs)
    assert outputs["AcceleratorDns"]["Condition"] == "GlobalAcceleratorEnabled"
    assert _sub_text(outputs["WebSocketUrl"]["Value"]).startswith("wss://${WebSocketApi}")
