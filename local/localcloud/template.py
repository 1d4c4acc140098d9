"""template.yaml -> CloudFormation (offline) -> a stack in moto.

The template is the single source of truth for the local runtime and for the deploy rehearsal test.
Public functions (all pure except ``deploy_to_moto``):

``load_template(path: str | Path) -> dict[str, Any]``
    Reads a SAM/CloudFormation YAML file with short-form intrinsics (``!Ref``, ``!Sub``, ...) into
    plain JSON-like data (``{"Ref": ...}``, ``{"Fn::Sub": ...}``).

``translate_template(path: str | Path, parameters: Mapping[str, str] | None = None) -> dict[str, Any]``
    Offline aws-sam-translator run (no AWS calls: a fixed managed-policy map, pseudo parameters of
    ``PSEUDO_PARAMETERS``). Local ``CodeUri``/``ContentUri`` become ``s3://localcloud-artifacts/<dir>``
    (the key keeps the directory relative to the template) and ``DefinitionUri`` files are inlined, so
    the result keeps every path the runtime needs. Returns the CloudFormation template (a new dict).

``rehearsal_template(translated: Mapping[str, Any], code_root: str | Path, *, replacements=None) -> dict``
    Makes a translated template creatable by moto's CloudFormation: keeps only resource types in
    ``MOTO_TYPES``; every other resource is skipped with one summary line at INFO and one DEBUG
    line per resource type (logger ``localcloud.template``) and recorded under
    ``Metadata.LocalCloud.Skipped`` (logical id -> type).
    References to skipped resources (``Ref``, ``Fn::GetAtt``, ``${X}`` / ``${X.Attr}`` inside
    ``Fn::Sub``, ``DependsOn``) are replaced by ``replacements["X"]`` / ``replacements["X.Attr"]``
    when given (e.g. ``{"DbProxy.Endpoint": "127.0.0.1", "DbSecret": "<secret arn in moto>"}``),
    else by the placeholder ``"local-X"`` / ``"local-X-Attr"``. Lambda code becomes an inline
    ``ZipFile`` stub and the absolute code directory is recorded in the function's
    ``Metadata.LocalCloud.CodeDir`` (see ``function_code_dirs``); state machine
    ``DefinitionSubstitutions`` are folded into ``Fn::Sub`` on ``DefinitionString``; parameters
    without a default get ``"local"``.

``function_code_dirs(template: Mapping[str, Any]) -> dict[str, Path]``
    Logical id -> absolute code directory of every ``AWS::Lambda::Function`` of a rehearsal template.

``deploy_to_moto(endpoint_url: str, stack_name: str, template: Mapping[str, Any],
                 parameters: Mapping[str, str] | None = None, *, region: str = "us-east-1",
                 timeout_s: float = 60.0) -> StackResult``
    ``create_stack`` against a running moto server (dummy credentials) and waits until it settles.
    ``StackResult.outputs``: output key -> value; ``StackResult.physical_ids``: logical id -> physical
    id of every created resource. Raises ``StackDeployError`` with moto's status reason on failure.
"""

from __future__ import annotations

import base64
import copy
import io
import json
import logging
import re
import time
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import yaml
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator

LOG = logging.getLogger("localcloud.template")

ARTIFACT_BUCKET = "localcloud-artifacts"
PSEUDO_PARAMETERS: dict[str, str] = {
    "AWS::Region": "us-east-1",
    "AWS::AccountId": "123456789012",
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
}

# AWS managed policies that SAM may attach by name; the offline translation never lists IAM.
MANAGED_POLICIES: dict[str, str] = {
    name: f"arn:aws:iam::aws:policy/{path}{name}"
    for name, path in [
        ("AWSLambdaBasicExecutionRole", "service-role/"),
        ("AWSLambdaVPCAccessExecutionRole", "service-role/"),
        ("AWSXrayWriteOnlyAccess", ""),
        ("AWSLambdaDynamoDBExecutionRole", "service-role/"),
        ("AWSLambdaSQSQueueExecutionRole", "service-role/"),
        ("AWSStepFunctionsFullAccess", ""),
    ]
}

# Resource types moto's CloudFormation creates and the local runtime uses (or that cost nothing).
MOTO_TYPES: frozenset[str] = frozenset(
    {
        "AWS::DynamoDB::Table",
        "AWS::SQS::Queue",
        "AWS::SNS::Topic",
        "AWS::S3::Bucket",
        "AWS::Events::EventBus",
        "AWS::Events::Rule",
        "AWS::Events::Archive",
        "AWS::StepFunctions::StateMachine",
        "AWS::Lambda::Function",
        "AWS::Lambda::LayerVersion",
        "AWS::Lambda::EventSourceMapping",
        "AWS::Lambda::Permission",
        "AWS::IAM::Role",
        "AWS::IAM::Policy",
        "AWS::IAM::ManagedPolicy",
        "AWS::Logs::LogGroup",
        "AWS::CloudWatch::Dashboard",
    }
)

# Why a skipped type is not needed from moto (one log line per type names the reason).
SKIP_REASONS: dict[str, str] = {
    "AWS::ApiGateway::": "REST API served by the local runtime from the translated routes",
    "AWS::ApiGatewayV2::": "WebSocket API served by the local runtime",
    "AWS::WAFv2::": "no WAF locally",
    "AWS::CloudFront::": "web UI served by the local runtime",
    "AWS::Shield::": "no DDoS protection locally",
    "AWS::GlobalAccelerator::": "no edge network locally",
    "AWS::RDS::": "embedded PostgreSQL replaces Aurora and RDS Proxy",
    "AWS::SecretsManager::": "the runtime stores the database secret itself",
    "AWS::ECS::": "the matcher runs as a local subprocess",
    "AWS::ElasticLoadBalancingV2::": "the matcher's HTTP side is reached directly",
    "AWS::ApplicationAutoScaling::": "one local matcher process",
    "AWS::EC2::": "no VPC locally",
    "AWS::GuardDuty::": "account security service, not needed locally",
    "AWS::CloudTrail::": "account audit trail, not needed locally",
    "AWS::Backup::": "no backups of local state",
    "AWS::CloudWatch::Alarm": "no alarms locally",
    "AWS::SNS::Subscription": "no alarm e-mail locally",
    "AWS::SNS::TopicPolicy": "resource policies are not enforced by moto",
    "AWS::SQS::QueuePolicy": "resource policies are not enforced by moto",
    "AWS::S3::BucketPolicy": "resource policies are not enforced by moto",
    "AWS::Scheduler::": "schedules are run by the local runtime",
}

# moto returns the model object for a Ref to these types; the same value is reachable as an attribute.
_REF_AS_ATTRIBUTE: dict[str, str] = {"AWS::Events::EventBus": "Name"}

_SUB_TOKEN = re.compile(r"\$\{([^}!][^}]*)\}")


class StackDeployError(RuntimeError):
    """moto's CloudFormation did not reach CREATE_COMPLETE."""


@dataclass(frozen=True)
class StackResult:
    stack_id: str
    outputs: dict[str, str] = field(default_factory=dict)
    physical_ids: dict[str, str] = field(default_factory=dict)


# ------------------------------------------------------------------ YAML with short-form intrinsics
class _CfnLoader(yaml.SafeLoader):
    pass


def _construct_intrinsic(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> Any:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    if tag_suffix == "Ref":
        return {"Ref": value}
    if tag_suffix == "Condition":
        return {"Condition": value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        logical_id, _, attribute = value.partition(".")
        return {"Fn::GetAtt": [logical_id, attribute]}
    return {f"Fn::{tag_suffix}": value}


_CfnLoader.add_multi_constructor("!", _construct_intrinsic)


def load_template(path: str | Path) -> dict[str, Any]:
    with Path(path).open(encoding="utf-8") as handle:
        data = yaml.load(handle, Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass
    if not isinstance(data, dict):
        raise ValueError(f"{path} is not a template")
    return data


def create_table_request(
    table_name: str, properties: Mapping[str, Any], *, with_stream: bool = True
) -> dict[str, Any]:
    """``CreateTable`` arguments for one ``AWS::DynamoDB::Table`` of the template (keys, GSIs,
    stream; on-demand), for tests and benchmarks that build single tables in moto without the
    whole stack. TTL is a separate ``UpdateTimeToLive`` call."""
    request: dict[str, Any] = {
        "TableName": table_name,
        "AttributeDefinitions": properties["AttributeDefinitions"],
        "KeySchema": properties["KeySchema"],
        "BillingMode": "PAY_PER_REQUEST",
    }
    if properties.get("GlobalSecondaryIndexes"):
        request["GlobalSecondaryIndexes"] = [
            {"IndexName": g["IndexName"], "KeySchema": g["KeySchema"], "Projection": g["Projection"]}
            for g in properties["GlobalSecondaryIndexes"]
        ]
    if with_stream and properties.get("StreamSpecification"):
        request["StreamSpecification"] = {"StreamEnabled": True, **properties["StreamSpecification"]}
    return request


# ------------------------------------------------------------------ offline SAM translation
class _FixedManagedPolicyLoader:
    """The translator's ManagedPolicyLoader without IAM: a fixed name -> ARN map."""

    def load(self) -> dict[str, str]:
        return dict(MANAGED_POLICIES)


def _is_local_uri(value: Any) -> bool:
    return isinstance(value, str) and not value.startswith("s3://")


def translate_template(path: str | Path, parameters: Mapping[str, str] | None = None) -> dict[str, Any]:
    template_path = Path(path).resolve()
    sam = load_template(template_path)
    for resource in sam.get("Resources", {}).values():
        props = resource.get("Properties", {})
        kind = resource.get("Type")
        if kind == "AWS::Serverless::Function" and _is_local_uri(props.get("CodeUri")):
            props["CodeUri"] = f"s3://{ARTIFACT_BUCKET}/{props['CodeUri'].strip('/')}"
        elif kind == "AWS::Serverless::LayerVersion" and _is_local_uri(props.get("ContentUri")):
            props["ContentUri"] = f"s3://{ARTIFACT_BUCKET}/{props['ContentUri'].strip('/')}"
        elif kind == "AWS::Serverless::StateMachine" and _is_local_uri(props.get("DefinitionUri")):
            definition_file = template_path.parent / props.pop("DefinitionUri")
            props["Definition"] = json.loads(definition_file.read_text(encoding="utf-8"))
    values: dict[str, Any] = {**PSEUDO_PARAMETERS, **(parameters or {})}
    # Same steps as samtranslator.translator.transform.transform, with a region-only boto3 session
    # (that function builds its Translator without one and would need AWS_DEFAULT_REGION).
    session = boto3.session.Session(region_name=PSEUDO_PARAMETERS["AWS::Region"])
    translator = Translator(None, Parser(), boto_session=session)
    policies = _FixedManagedPolicyLoader().load()
    translated = translator.translate(sam, parameter_values=values, get_managed_policy_map=lambda: policies)
    return dict(translated)


# ------------------------------------------------------------------ rehearsal template for moto
def _reference_value(replacements: Mapping[str, Any], logical_id: str, attribute: str | None) -> Any:
    key = f"{logical_id}.{attribute}" if attribute else logical_id
    if key in replacements:
        return replacements[key]
    return f"local-{logical_id}-{attribute}" if attribute else f"local-{logical_id}"


def _rewrite_sub_string(text: str, skipped: Mapping[str, str], replacements: Mapping[str, Any]) -> str:
    def substitute(match: re.Match[str]) -> str:
        token = match.group(1)
        logical_id, _, attribute = token.partition(".")
        if logical_id not in skipped:
            return match.group(0)
        return str(_reference_value(replacements, logical_id, attribute or None))

    return _SUB_TOKEN.sub(substitute, text)


def _rewrite_intrinsic(
    key: str, value: Any, skipped: Mapping[str, str], replacements: Mapping[str, Any]
) -> tuple[bool, Any]:
    """(True, new value) when ``{key: value}`` is a reference that needs rewriting."""
    if key == "Ref" and isinstance(value, str) and value in skipped:
        return True, _reference_value(replacements, value, None)
    if key == "Fn::GetAtt":
        parts = value.split(".", 1) if isinstance(value, str) else value
        if isinstance(parts, list) and parts and parts[0] in skipped:
            return True, _reference_value(replacements, str(parts[0]), str(parts[1]))
    if key == "Fn::Sub":
        if isinstance(value, str):
            return True, {key: _rewrite_sub_string(value, skipped, replacements)}
        text, variables = value
        rewritten = [
            _rewrite_sub_string(text, skipped, replacements),
            _rewrite_references(variables, skipped, replacements),
        ]
        return True, {key: rewritten}
    return False, None


def _rewrite_references(node: Any, skipped: Mapping[str, str], replacements: Mapping[str, Any]) -> Any:
    if isinstance(node, list):
        return [_rewrite_references(item, skipped, replacements) for item in node]
    if not isinstance(node, dict):
        return node
    if len(node) == 1:
        ((key, value),) = node.items()
        rewritten, new_value = _rewrite_intrinsic(key, value, skipped, replacements)
        if rewritten:
            return new_value
    return {key: _rewrite_references(value, skipped, replacements) for key, value in node.items()}


def _refs_to_attributes(node: Any, ref_attributes: Mapping[str, str]) -> Any:
    if isinstance(node, list):
        return [_refs_to_attributes(item, ref_attributes) for item in node]
    if not isinstance(node, dict):
        return node
    if len(node) == 1:
        ((key, value),) = node.items()
        if key == "Ref" and isinstance(value, str) and value in ref_attributes:
            return {"Fn::GetAtt": [value, ref_attributes[value]]}
        if key == "Fn::Sub":

            def attribute_token(match: re.Match[str]) -> str:
                token = match.group(1)
                if token in ref_attributes:
                    return "${" + token + "." + ref_attributes[token] + "}"
                return match.group(0)

            if isinstance(value, str):
                return {key: _SUB_TOKEN.sub(attribute_token, value)}
            text, variables = value
            return {
                key: [_SUB_TOKEN.sub(attribute_token, text), _refs_to_attributes(variables, ref_attributes)]
            }
    return {key: _refs_to_attributes(value, ref_attributes) for key, value in node.items()}


def _skip_reason(resource_type: str) -> str:
    for prefix, reason in SKIP_REASONS.items():
        if resource_type.startswith(prefix):
            return reason
    return "not hosted by moto's CloudFormation"


def _log_skipped(skipped: Mapping[str, str]) -> None:
    by_type: dict[str, list[str]] = {}
    for logical_id, resource_type in skipped.items():
        by_type.setdefault(resource_type, []).append(logical_id)
    for resource_type in sorted(by_type):
        ids = sorted(by_type[resource_type])
        LOG.debug(
            "skipping %d %s (%s): %s", len(ids), resource_type, ", ".join(ids), _skip_reason(resource_type)
        )
    if skipped:  # one line at INFO; each type with its reason at DEBUG (--log-level DEBUG)
        services = sorted({t.split("::")[1] for t in by_type if t.count("::") >= 2})
        if len(services) > 8:
            services = [*services[:8], f"{len(services) - 8} more services"]
        LOG.info(
            "not hosted locally: %d resources of %d types (%s); --log-level DEBUG lists each with the reason",
            len(skipped),
            len(by_type),
            ", ".join(services),
        )


def _fold_definition_substitutions(props: dict[str, Any]) -> None:
    substitutions = props.pop("DefinitionSubstitutions", None)
    if not substitutions:
        return
    definition = props["DefinitionString"]
    if isinstance(definition, dict) and "Fn::Join" in definition:
        separator, parts = definition["Fn::Join"]
        if all(isinstance(part, str) for part in parts):
            definition = separator.join(parts)
    if not isinstance(definition, str):
        raise ValueError("DefinitionString must be literal text to fold DefinitionSubstitutions into Fn::Sub")
    props["DefinitionString"] = {"Fn::Sub": [definition, substitutions]}


def _marker_zip(text: str) -> str:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("LOCALCLOUD.txt", text)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def rehearsal_template(
    translated: Mapping[str, Any],
    code_root: str | Path,
    *,
    replacements: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    template = copy.deepcopy(dict(translated))
    template.pop("Transform", None)
    resources: dict[str, Any] = template.get("Resources", {})
    skipped = {lid: res["Type"] for lid, res in resources.items() if res.get("Type") not in MOTO_TYPES}
    _log_skipped(skipped)
    for logical_id in skipped:
        del resources[logical_id]
    template = dict(_rewrite_references(template, skipped, replacements or {}))
    ref_attributes = {
        lid: _REF_AS_ATTRIBUTE[res["Type"]]
        for lid, res in template["Resources"].items()
        if res["Type"] in _REF_AS_ATTRIBUTE
    }
    template = dict(_refs_to_attributes(template, ref_attributes))
    resources = template["Resources"]
    root = Path(code_root).resolve()
    for resource in resources.values():
        depends = resource.get("DependsOn")
        if isinstance(depends, str):
            depends = [depends]
        if depends is not None:
            kept = [d for d in depends if d not in skipped]
            if kept:
                resource["DependsOn"] = kept
            else:
                resource.pop("DependsOn")
        props = resource.setdefault("Properties", {})
        kind = resource["Type"]
        if kind == "AWS::Lambda::Function":
            code_dir = root / str(props.get("Code", {}).get("S3Key", ""))
            props["Code"] = {"ZipFile": f"# handler code lives in {code_dir}\n"}
            resource.setdefault("Metadata", {})["LocalCloud"] = {"CodeDir": str(code_dir)}
            for unsupported in ("LoggingConfig", "VpcConfig"):
                props.pop(unsupported, None)
        elif kind == "AWS::Lambda::LayerVersion":
            content_dir = root / str(props.get("Content", {}).get("S3Key", ""))
            # moto accepts inline layer content; the runtime imports the package from the venv instead.
            props["Content"] = {"ZipFile": _marker_zip(f"layer content lives in {content_dir}\n")}
            resource.setdefault("Metadata", {})["LocalCloud"] = {"ContentDir": str(content_dir)}
        elif kind == "AWS::StepFunctions::StateMachine":
            _fold_definition_substitutions(props)
        elif kind == "AWS::Events::Archive" and isinstance(props.get("EventPattern"), dict):
            # moto's Archive only parses a JSON string (CloudFormation accepts both forms).
            props["EventPattern"] = json.dumps(props["EventPattern"])
    for parameter in template.get("Parameters", {}).values():
        parameter.setdefault("Default", "local")
    template.setdefault("Metadata", {})["LocalCloud"] = {"Skipped": dict(sorted(skipped.items()))}
    return template


def function_code_dirs(template: Mapping[str, Any]) -> dict[str, Path]:
    dirs: dict[str, Path] = {}
    for logical_id, resource in template.get("Resources", {}).items():
        if resource.get("Type") == "AWS::Lambda::Function":
            dirs[logical_id] = Path(resource["Metadata"]["LocalCloud"]["CodeDir"])
    return dirs


# ------------------------------------------------------------------ create the stack in moto
def _parameters(values: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"ParameterKey": key, "ParameterValue": value} for key, value in values.items()]


def _paginate_resources(client: Any, stack_name: str) -> Iterable[dict[str, Any]]:
    paginator = client.get_paginator("list_stack_resources")
    for page in paginator.paginate(StackName=stack_name):
        yield from page["StackResourceSummaries"]


def deploy_to_moto(
    endpoint_url: str,
    stack_name: str,
    template: Mapping[str, Any],
    parameters: Mapping[str, str] | None = None,
    *,
    region: str = PSEUDO_PARAMETERS["AWS::Region"],
    timeout_s: float = 60.0,
) -> StackResult:
    client = boto3.client(
        "cloudformation",
        endpoint_url=endpoint_url,
        region_name=region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 - moto's dummy credentials
    )
    stack_id: str = client.create_stack(
        StackName=stack_name,
        TemplateBody=json.dumps(template),
        Parameters=_parameters(parameters or {}),
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"],
    )["StackId"]
    deadline = time.monotonic() + timeout_s
    while True:
        stack = client.describe_stacks(StackName=stack_id)["Stacks"][0]
        status: str = stack["StackStatus"]
        if not status.endswith("_IN_PROGRESS"):
            break
        if time.monotonic() > deadline:
            raise StackDeployError(f"{stack_name}: still {status} after {timeout_s} s")
        time.sleep(0.1)
    if status != "CREATE_COMPLETE":
        raise StackDeployError(f"{stack_name}: {status}: {stack.get('StackStatusReason', '')}")
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    physical_ids = {
        r["LogicalResourceId"]: r.get("PhysicalResourceId", "") for r in _paginate_resources(client, stack_id)
    }
    return StackResult(stack_id=stack_id, outputs=outputs, physical_ids=physical_ids)
