"""moto in-process, and the patches that make it behave as the runtime's cloud.

moto serves every AWS API the code calls. Where moto stops short of AWS, the runtime fills in:

* Lambda ``Invoke`` (used by Step Functions tasks and by ``lambda:InvokeFunction`` callers) runs
  the real handler in-process instead of a Docker container;
* EventBridge targets that are Lambda functions or Step Functions state machines (moto raises
  NotImplementedError for both) are delivered in-process: the state machine execution is started,
  the function invoked asynchronously;
* CloudFormation creates state machines in moto's plain Step Functions backend, while executions
  (``execute_state_machine``) live in the parser backend: :func:`sync_state_machines` copies them;
* SQS FIFO deduplication window, redelivery order and sequence numbers: see :mod:`localcloud.fifo`;
* ``TransactWriteItems`` rolls back item by item instead of copying whole tables: see
  :mod:`localcloud.transactions`;
* work moto redoes on every request (backend lookup, JSONPath parsing, SQS retention checks) is
  done once: see :mod:`localcloud.speedups`;
* moto invokes SQS/DynamoDB-stream event source mappings synchronously inside ``SendMessage``/
  ``PutItem``; :func:`detach_event_source_mappings` turns that off, the runtime's pollers do it
  the way Lambda does (see :mod:`localcloud.pollers`).
"""

from __future__ import annotations

import copy
import json
import logging
import os
import threading
import uuid
from datetime import UTC, datetime
from typing import Any

from moto.awslambda.models import LambdaBackend
from moto.awslambda_simple.models import LambdaSimpleBackend
from moto.core.config import default_user_config
from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.responses import DynamoHandler
from moto.events.models import Rule
from moto.events.utils import EventTemplateParser
from moto.server import ThreadedMotoServer
from moto.sqs.models import sqs_backends
from moto.stepfunctions.models import stepfunctions_backends
from moto.stepfunctions.parser.models import stepfunctions_parser_backends
from moto.utilities.arns import parse_arn

from localcloud import fifo, speedups, transactions
from localcloud.lambdas import LambdaRunner

_log = logging.getLogger(__name__)

ACCOUNT_ID = "123456789012"
_runners: list[LambdaRunner] = []
_patched = False
_patch_lock = threading.Lock()

AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}


class MotoCloud:
    """A ThreadedMotoServer on loopback with Step Functions execution enabled."""

    def __init__(self, port: int, region: str = "us-east-1") -> None:
        self.port = port
        self.region = region
        self.endpoint = f"http://127.0.0.1:{port}"
        self._server: ThreadedMotoServer | None = None

    def start(self) -> None:
        for key, value in AWS_ENV.items():
            os.environ.setdefault(key, value)
        # Step Functions Lambda tasks call the Invoke API at localhost:MOTO_PORT.
        os.environ["MOTO_PORT"] = str(self.port)
        default_user_config.setdefault("stepfunctions", {})["execute_state_machine"] = True
        install_patches()
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one access-log line per AWS call
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self._server.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None


def register_runner(runner: LambdaRunner) -> None:
    """Lambda Invoke and EventBridge targets resolve function names against registered runners."""
    _runners.insert(0, runner)


def unregister_runner(runner: LambdaRunner) -> None:
    if runner in _runners:
        _runners.remove(runner)


def _runner_for(name: str) -> LambdaRunner | None:
    return next((runner for runner in _runners if runner.has(name)), None)


def install_patches() -> None:
    global _patched  # noqa: PLW0603 - patches are process-wide by nature
    with _patch_lock:
        if _patched:
            return
        _patch_lambda_invoke()
        _patch_event_targets()
        serialize_dynamodb()
        transactions.install()
        speedups.install()
        fifo.install()
        _patched = True


_dynamodb_lock = threading.RLock()
_dynamodb_serialized = False


def serialize_dynamodb() -> None:
    """moto's DynamoDB backend is not thread-safe: TransactWriteItems deep-copies a table while
    another request thread mutates it ("dictionary changed size during iteration", HTTP 500),
    which real DynamoDB never does. The runtime serves the matcher and every function at once,
    so DynamoDB requests are applied one at a time, as the real service's isolation promises.
    Idempotent; the matcher benchmark uses it for its own moto server too."""
    global _dynamodb_serialized  # noqa: PLW0603 - a process-wide patch, applied once
    with _dynamodb_lock:
        if _dynamodb_serialized:
            return
        original = DynamoHandler.call_action

        def call_action(self: DynamoHandler) -> Any:
            with _dynamodb_lock:
                return original(self)

        DynamoHandler.call_action = call_action  # type: ignore[method-assign]
        _dynamodb_serialized = True


def _patch_lambda_invoke() -> None:
    """Lambda Invoke runs the handler in-process, whichever moto Lambda backend is configured."""
    for backend_class in (LambdaBackend, LambdaSimpleBackend):
        backend_class.invoke = _in_process_invoke(backend_class.invoke)  # type: ignore[method-assign]


def _in_process_invoke(original: Any) -> Any:
    def invoke(self: Any, function_name: str, qualifier: str | None, *rest: Any) -> str | bytes | None:
        body, headers, response_headers = rest
        runner = _runner_for(function_name)
        if runner is None:
            result: str | bytes | None = original(self, function_name, qualifier, *rest)
            return result
        payload_in = body.decode() if isinstance(body, bytes) else body
        invocation_type = (headers or {}).get("X-Amz-Invocation-Type", "RequestResponse")
        if invocation_type == "Event":
            threading.Thread(target=runner.invoke_json, args=(function_name, payload_in), daemon=True).start()
            return b""
        if invocation_type == "DryRun":
            return b""
        payload, errored = runner.invoke_json(function_name, payload_in)
        if errored:
            response_headers["x-amz-function-error"] = "Unhandled"
        response_headers["Content-Length"] = str(len(payload))
        return payload

    return invoke


def _patch_event_targets() -> None:
    original = Rule.send_to_targets

    def send_to_targets(self: Any, original_event: Any, transform_input: bool = True) -> None:
        if not self.event_pattern.matches_event(original_event):
            return
        local: list[dict[str, Any]] = []
        rest: list[dict[str, Any]] = []
        for target in self.targets:
            service = parse_arn(target["Arn"]).service
            (local if service in ("lambda", "states") else rest).append(target)
        for target in local:
            event = dict(original_event)
            if transform_input:
                transformer = target.get("InputTransformer", {})
                event = EventTemplateParser.parse(
                    input_template=transformer.get("InputTemplate"),
                    input_paths_map=transformer.get("InputPathsMap", {}),
                    event=original_event,
                )
            if "Input" in target:
                event = json.loads(target["Input"])
            _deliver(self.account_id, self.region_name, target["Arn"], _json_safe(event))
        if rest:
            clone = copy.copy(self)
            clone.targets = rest
            original(clone, original_event, transform_input)

    Rule.send_to_targets = send_to_targets  # type: ignore[method-assign]


def _json_safe(event: Any) -> Any:
    if isinstance(event, dict) and isinstance(event.get("time"), int | float):
        event = {**event, "time": datetime.fromtimestamp(event["time"], UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
    return event


def _deliver(account_id: str, region: str, arn: str, event: Any) -> None:
    service = arn.split(":")[2]
    if service == "states":
        backend = stepfunctions_parser_backends[account_id][region]
        execution = backend.start_execution(
            arn, name=f"eb-{uuid.uuid4().hex}", execution_input=json.dumps(event, default=str)
        )
        _log.debug("EventBridge started %s", execution.execution_arn)
        return
    runner = _runner_for(arn)
    if runner is None:
        _log.warning("EventBridge target %s is not a function of the template; dropped", arn)
        return
    threading.Thread(target=_invoke_async, args=(runner, arn, event), daemon=True).start()


def _invoke_async(runner: LambdaRunner, arn: str, event: Any) -> None:
    try:
        runner.invoke(arn, event)
    except Exception:
        _log.exception("async invocation of %s failed", arn)


def sync_state_machines(region: str, account_id: str = ACCOUNT_ID) -> list[str]:
    """Copy state machines created by CloudFormation into the executing backend; return their ARNs."""
    plain = stepfunctions_backends[account_id][region]
    parser = stepfunctions_parser_backends[account_id][region]
    known = {machine.arn for machine in parser.state_machines}
    copied = []
    for machine in plain.state_machines:
        if machine.arn in known:
            continue
        parser.create_state_machine(
            name=machine.name, definition=machine.definition, roleArn=machine.roleArn, sm_type=machine.type
        )
        copied.append(machine.arn)
    return copied


def detach_event_source_mappings(region: str, account_id: str = ACCOUNT_ID) -> None:
    """Stop moto from invoking functions inside SendMessage/PutItem; the runtime's pollers do it."""
    for queue in sqs_backends[account_id][region].queues.values():
        queue.lambda_event_source_mappings.clear()
    for table in dynamodb_backends[account_id][region].tables.values():
        table.lambda_event_source_mappings.clear()
