"""What the runtime serves, read from the translated template (the single source of truth).

The translated (plain CloudFormation) template says which function serves which REST route and
WebSocket route, which authorizer guards which route, the usage-plan throttles, and the event
sources (SQS/DynamoDB-stream mappings, schedules). Logical ids are mapped to moto's physical
names with the stack's resource list; intrinsic functions are only followed far enough to find
the logical ids they refer to.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

_SUB_NAME = re.compile(r"\$\{([A-Za-z0-9_:]+)(?:\.[A-Za-z0-9.]+)?\}")
_SWAGGER_METHODS = (
    "get",
    "put",
    "post",
    "delete",
    "patch",
    "head",
    "options",
    "x-amazon-apigateway-any-method",
)


def referenced_ids(value: Any) -> Iterator[str]:
    """Every logical id an intrinsic expression mentions (Ref, GetAtt, names inside Sub strings)."""
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Ref" and isinstance(inner, str):
                yield inner
            elif key == "Fn::GetAtt":
                target = inner[0] if isinstance(inner, list) else str(inner).split(".", 1)[0]
                yield target
            elif key == "Fn::Sub":
                text = inner[0] if isinstance(inner, list) else inner
                variables = inner[1] if isinstance(inner, list) and len(inner) > 1 else {}
                for name in _SUB_NAME.findall(text):
                    if name in variables:
                        yield from referenced_ids(variables[name])
                    else:
                        yield name
            else:
                yield from referenced_ids(inner)
    elif isinstance(value, list):
        for item in value:
            yield from referenced_ids(item)


@dataclass(frozen=True)
class Authorizer:
    name: str
    function_id: str
    identity_headers: tuple[str, ...]
    identity_query: tuple[str, ...]
    ttl_s: int
    identity_context: tuple[str, ...] = ()  # context.X -> requestContext variable X (dotted path)
    identity_stage: tuple[str, ...] = ()  # stageVariables.X


@dataclass(frozen=True)
class RestRoute:
    path: str  # API Gateway resource path, e.g. /v1/orders/{order_id}
    method: str  # GET/POST/... or ANY
    function_id: str
    authorizer: str | None
    api_key_required: bool
    _pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        regex = "^"
        for part in self.path.strip("/").split("/"):
            if part.startswith("{") and part.endswith("+}"):
                regex += f"/(?P<{part[1:-2]}>.+)"
            elif part.startswith("{") and part.endswith("}"):
                regex += f"/(?P<{part[1:-1]}>[^/]+)"
            elif part:
                regex += "/" + re.escape(part)
        object.__setattr__(self, "_pattern", re.compile(regex + "/?$" if regex != "^" else "^/?$"))

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if self.method not in ("ANY", method):
            return None
        found = self._pattern.match(path)
        return None if found is None else found.groupdict()


@dataclass(frozen=True)
class Throttle:
    rate: float  # requests per second
    burst: int


@dataclass(frozen=True)
class UsagePlan:
    logical_id: str
    throttle: Throttle | None
    method_throttles: Mapping[str, Throttle]  # "/v1/orders/POST" -> throttle
    quota_limit: int | None
    quota_period: str | None


@dataclass(frozen=True)
class QueueSource:
    logical_id: str
    function_id: str
    queue_id: str
    batch_size: int
    report_failures: bool
    enabled: bool = True


@dataclass(frozen=True)
class StreamSource:
    logical_id: str
    function_id: str
    table_id: str
    batch_size: int
    starting_position: str
    report_failures: bool


@dataclass(frozen=True)
class Schedule:
    logical_id: str
    expression: str
    function_ids: tuple[str, ...]
    state_machine_ids: tuple[str, ...]
    enabled: bool


@dataclass(frozen=True)
class RestApi:
    logical_id: str
    stage: str
    routes: tuple[RestRoute, ...]
    authorizers: Mapping[str, Authorizer]
    usage_plans: tuple[UsagePlan, ...]
    gateway_responses: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


@dataclass
class AppModel:
    resources: Mapping[str, Any]
    functions: Mapping[str, Any] = field(default_factory=dict)  # logical id -> resource
    rest_apis: list[RestApi] = field(default_factory=list)
    ws_routes: dict[str, str] = field(default_factory=dict)  # route key -> function logical id
    ws_route_selection: str = "$request.body.action"
    ws_stage: str = "production"
    queue_sources: list[QueueSource] = field(default_factory=list)
    stream_sources: list[StreamSource] = field(default_factory=list)
    schedules: list[Schedule] = field(default_factory=list)
    parameters: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_template(
        cls, template: Mapping[str, Any], parameters: Mapping[str, str] | None = None
    ) -> AppModel:
        resources: Mapping[str, Any] = template.get("Resources", {})
        model = cls(resources=resources)
        for name, spec in (template.get("Parameters") or {}).items():
            if "Default" in spec:
                model.parameters[name] = str(spec["Default"])
        model.parameters.update(parameters or {})
        model.functions = {k: v for k, v in resources.items() if v.get("Type") == "AWS::Lambda::Function"}
        for logical_id, resource in resources.items():
            kind = resource.get("Type")
            props = resource.get("Properties", {}) or {}
            if kind == "AWS::ApiGateway::RestApi" and isinstance(props.get("Body"), dict):
                model.rest_apis.append(model._rest_api(logical_id, props["Body"]))
            elif kind == "AWS::Lambda::EventSourceMapping":
                model._event_source(logical_id, props)
            elif kind == "AWS::Events::Rule" and props.get("ScheduleExpression"):
                model._schedule(logical_id, props)
            elif kind == "AWS::ApiGatewayV2::Api" and props.get("ProtocolType") == "WEBSOCKET":
                model.ws_route_selection = props.get("RouteSelectionExpression", model.ws_route_selection)
            elif kind == "AWS::ApiGatewayV2::Stage" and isinstance(props.get("StageName"), str):
                model.ws_stage = props["StageName"]
        model._ws_routes()
        return model

    # -- helpers ---------------------------------------------------------------------------------
    def function_in(self, expression: Any) -> str | None:
        return next((ref for ref in referenced_ids(expression) if ref in self.functions), None)

    def _ids_of_type(self, expression: Any, kind: str) -> list[str]:
        return [ref for ref in referenced_ids(expression) if self.resources.get(ref, {}).get("Type") == kind]

    def _rest_api(self, logical_id: str, body: Mapping[str, Any]) -> RestApi:
        authorizers: dict[str, Authorizer] = {}
        for name, definition in (body.get("securityDefinitions") or {}).items():
            spec = definition.get("x-amazon-apigateway-authorizer")
            if not spec:
                continue
            function_id = self.function_in(spec.get("authorizerUri"))
            if function_id is None:
                continue
            sources = [s.strip() for s in str(spec.get("identitySource", "")).split(",") if s.strip()]
            headers = tuple(s.split(".", 3)[3] for s in sources if s.startswith("method.request.header."))
            query = tuple(s.split(".", 3)[3] for s in sources if s.startswith("method.request.querystring."))
            context = tuple(s.split(".", 1)[1] for s in sources if s.startswith("context."))
            stage = tuple(s.split(".", 1)[1] for s in sources if s.startswith("stageVariables."))
            ttl = int(spec.get("authorizerResultTtlInSeconds", 300))
            authorizers[name] = Authorizer(name, function_id, headers, query, ttl, context, stage)
        default_security = body.get("security") or []
        routes = []
        for path, operations in (body.get("paths") or {}).items():
            for method, operation in operations.items():
                if method not in _SWAGGER_METHODS:
                    continue
                integration = operation.get("x-amazon-apigateway-integration") or {}
                function_id = self.function_in(integration.get("uri"))
                if function_id is None:
                    continue
                security = operation.get("security", default_security)
                names = [name for entry in security for name in entry]
                authorizer = next((name for name in names if name in authorizers), None)
                routes.append(
                    RestRoute(
                        path=path,
                        method="ANY" if method == "x-amazon-apigateway-any-method" else method.upper(),
                        function_id=function_id,
                        authorizer=authorizer,
                        api_key_required="api_key" in names,
                    )
                )
        # Literal segments win over parameters, like API Gateway's most-specific match.
        routes.sort(key=lambda r: (r.path.count("{"), -r.path.count("/")))
        return RestApi(
            logical_id=logical_id,
            stage=self._stage_of(logical_id),
            routes=tuple(routes),
            authorizers=authorizers,
            usage_plans=tuple(self._usage_plans(logical_id)),
            gateway_responses=dict(body.get("x-amazon-apigateway-gateway-responses") or {}),
        )

    def _stage_of(self, api_id: str) -> str:
        for resource in self.resources.values():
            props = resource.get("Properties", {}) or {}
            if resource.get("Type") == "AWS::ApiGateway::Stage" and api_id in referenced_ids(
                props.get("RestApiId")
            ):
                return str(self._param(props.get("StageName", "prod")))
        return "prod"

    def _usage_plans(self, api_id: str) -> Iterator[UsagePlan]:
        for logical_id, resource in self.resources.items():
            if resource.get("Type") != "AWS::ApiGateway::UsagePlan":
                continue
            props = resource.get("Properties", {}) or {}
            stages = props.get("ApiStages") or []
            if stages and not any(api_id in referenced_ids(stage.get("ApiId")) for stage in stages):
                continue
            method_throttles: dict[str, Throttle] = {}
            for stage in stages:
                for key, value in (stage.get("Throttle") or {}).items():
                    method_throttles[key] = self._throttle(value)
            quota = props.get("Quota") or {}
            yield UsagePlan(
                logical_id=logical_id,
                throttle=self._throttle(props["Throttle"]) if props.get("Throttle") else None,
                method_throttles=method_throttles,
                quota_limit=int(self._param(quota["Limit"])) if "Limit" in quota else None,
                quota_period=quota.get("Period"),
            )

    def _param(self, value: Any) -> Any:
        if isinstance(value, dict) and set(value) == {"Ref"} and value["Ref"] in self.parameters:
            return self.parameters[value["Ref"]]
        return value

    def _throttle(self, value: Mapping[str, Any]) -> Throttle:
        rate = float(self._param(value.get("RateLimit", value.get("rateLimit", 10000))))
        burst = int(self._param(value.get("BurstLimit", value.get("burstLimit", max(1, int(rate))))))
        return Throttle(rate=rate, burst=burst)

    def _event_source(self, logical_id: str, props: Mapping[str, Any]) -> None:
        function_id = self.function_in(props.get("FunctionName"))
        if function_id is None:
            return
        source = props.get("EventSourceArn")
        report = "ReportBatchItemFailures" in (props.get("FunctionResponseTypes") or [])
        enabled = props.get("Enabled", True) not in (False, "false")
        if queues := self._ids_of_type(source, "AWS::SQS::Queue"):
            self.queue_sources.append(
                QueueSource(
                    logical_id, function_id, queues[0], int(props.get("BatchSize", 10)), report, enabled
                )
            )
        elif tables := self._ids_of_type(source, "AWS::DynamoDB::Table"):
            self.stream_sources.append(
                StreamSource(
                    logical_id,
                    function_id,
                    tables[0],
                    int(props.get("BatchSize", 100)),
                    str(props.get("StartingPosition", "LATEST")),
                    report,
                )
            )

    def _schedule(self, logical_id: str, props: Mapping[str, Any]) -> None:
        targets = props.get("Targets") or []
        functions = tuple(f for t in targets if (f := self.function_in(t.get("Arn"))) is not None)
        machines = tuple(
            ref
            for t in targets
            for ref in self._ids_of_type(t.get("Arn"), "AWS::StepFunctions::StateMachine")
        )
        self.schedules.append(
            Schedule(
                logical_id=logical_id,
                expression=str(props["ScheduleExpression"]),
                function_ids=functions,
                state_machine_ids=machines,
                enabled=props.get("State", "ENABLED") == "ENABLED",
            )
        )

    def _ws_routes(self) -> None:
        integrations = {
            logical_id: self.function_in(resource.get("Properties", {}).get("IntegrationUri"))
            for logical_id, resource in self.resources.items()
            if resource.get("Type") == "AWS::ApiGatewayV2::Integration"
        }
        for resource in self.resources.values():
            if resource.get("Type") != "AWS::ApiGatewayV2::Route":
                continue
            props = resource.get("Properties", {}) or {}
            target = props.get("Target")
            function_id = next(
                (integrations[ref] for ref in referenced_ids(target) if integrations.get(ref)), None
            )
            if function_id is None and isinstance(target, str):
                function_id = integrations.get(target.rsplit("/", 1)[-1])
            if function_id is not None:
                self.ws_routes[str(props.get("RouteKey"))] = function_id


def schedule_period_s(expression: str) -> float | None:
    """Seconds between runs of ``rate(...)``; None for ``cron(...)`` (see :func:`cron_matches`)."""
    found = re.fullmatch(r"rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)", expression.strip())
    if found is None:
        return None
    unit = {"minute": 60, "hour": 3600, "day": 86400}[found.group(2).rstrip("s")]
    return int(found.group(1)) * unit


_MONTHS = {
    m: i + 1
    for i, m in enumerate(
        ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
    )
}
_DAYS = {d: i + 1 for i, d in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"])}  # AWS: SUN = 1


def _cron_field(text: str, value: int, low: int, high: int, names: Mapping[str, int]) -> bool:
    for part in text.split(","):
        base, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if base in ("*", "?"):
            first, last = low, high
        elif "-" in base:
            start, end = base.split("-", 1)
            first, last = names.get(start, 0) or int(start), names.get(end, 0) or int(end)
        else:
            first = names.get(base, 0) or int(base)
            last = high if step_text else first
        if first <= value <= last and (value - first) % step == 0:
            return True
    return False


def cron_matches(expression: str, when: datetime) -> bool | None:
    """Whether an EventBridge ``cron(min hour dom month dow year)`` fires at ``when`` (UTC minute).

    Supports ``*``, ``?``, values, names, lists, ranges and steps; ``L``, ``W`` and ``#`` give None.
    """
    found = re.fullmatch(r"cron\((.+)\)", expression.strip())
    if found is None:
        return None
    fields = found.group(1).split()
    if len(fields) != 6 or any(c in found.group(1) for c in "LW#"):
        return None
    minute, hour, dom, month, dow, year = fields
    aws_dow = (when.isoweekday() % 7) + 1  # Monday=1..Sunday=7 -> SUN=1..SAT=7
    try:
        return (
            _cron_field(minute, when.minute, 0, 59, {})
            and _cron_field(hour, when.hour, 0, 23, {})
            and _cron_field(dom, when.day, 1, 31, {})
            and _cron_field(month, when.month, 1, 12, _MONTHS)
            and _cron_field(dow, aws_dow, 1, 7, _DAYS)
            and _cron_field(year, when.year, 1970, 2199, {})
        )
    except ValueError:
        return None
