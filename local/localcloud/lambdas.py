"""In-process Lambda runner: handlers loaded by file path, a LambdaContext, the function's own env.

Each ``functions/<name>/app.py`` is imported once under a unique module name
(``localcloud_fn_<logical id>``) so that the sixteen ``app`` modules never collide in
``sys.modules``. The function's directory is put on ``sys.path`` only while its module is imported
(for handlers that import sibling modules). Environment variables are applied per thread with
:mod:`localcloud.envoverlay`, and Powertools' REST request state per thread with
:mod:`localcloud.sandbox`, so invocations run concurrently like separate Lambda sandboxes.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from localcloud import sandbox
from localcloud.envoverlay import function_env

_log = logging.getLogger(__name__)

Handler = Callable[[Any, Any], Any]


@dataclass(frozen=True)
class FunctionSpec:
    """One Lambda function of the template, resolved to local paths and physical names."""

    logical_id: str
    name: str  # physical name in moto
    code_dir: Path
    handler: str  # "app.handler"
    env: Mapping[str, str]
    timeout_s: int = 3
    memory_mb: int = 128
    region: str = "us-east-1"
    account_id: str = "123456789012"

    @property
    def arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account_id}:function:{self.name}"


@dataclass
class LambdaContext:
    """The attributes and method of ``awslambdaric``'s context that handlers and Powertools use."""

    function_name: str
    memory_limit_in_mb: int
    invoked_function_arn: str
    aws_request_id: str
    timeout_s: int
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = ""
    identity: Any = None
    client_context: Any = None
    _deadline: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_s
        self.log_group_name = self.log_group_name or f"/aws/lambda/{self.function_name}"
        self.log_stream_name = self.log_stream_name or time.strftime("%Y/%m/%d/[$LATEST]local")

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class FunctionError(Exception):
    """A handler raised: carries the Lambda error payload (errorType, errorMessage, stackTrace)."""

    def __init__(self, payload: dict[str, Any]) -> None:
        super().__init__(payload.get("errorMessage", ""))
        self.payload = payload


def error_payload(exc: BaseException) -> dict[str, Any]:
    return {
        "errorType": type(exc).__name__,
        "errorMessage": str(exc),
        "stackTrace": traceback.format_exception(exc)[-5:],
    }


class LambdaRunner:
    """Loads and invokes the handlers of a set of functions, by logical id or physical name."""

    def __init__(self, functions: Mapping[str, FunctionSpec]) -> None:
        self.functions = dict(functions)
        self._by_name = {spec.name: spec for spec in self.functions.values()}
        self._modules: dict[str, Handler] = {}
        self._load_lock = threading.Lock()
        self.invocations: dict[str, int] = {}

    def spec(self, name_or_id: str) -> FunctionSpec:
        """Look a function up by logical id, physical name or ARN."""
        key = name_or_id.rsplit(":function:", 1)[-1].split(":", 1)[0]
        if key in self.functions:
            return self.functions[key]
        if key in self._by_name:
            return self._by_name[key]
        raise KeyError(f"no function {name_or_id!r} in the template")

    def has(self, name_or_id: str) -> bool:
        try:
            self.spec(name_or_id)
        except KeyError:
            return False
        return True

    def _handler(self, spec: FunctionSpec) -> Handler:
        sandbox.install()  # before any handler runs: Powertools' request state per thread
        with self._load_lock:
            found = self._modules.get(spec.logical_id)
            if found is not None:
                return found
            module_file, _, attr = spec.handler.rpartition(".")
            path = spec.code_dir / (module_file.replace(".", "/") + ".py")
            module_name = f"localcloud_fn_{spec.logical_id}"
            module_spec = importlib.util.spec_from_file_location(module_name, path)
            if module_spec is None or module_spec.loader is None:
                raise ImportError(f"cannot load {path}")
            module: ModuleType = importlib.util.module_from_spec(module_spec)
            sys.modules[module_name] = module
            sys.path.insert(0, str(spec.code_dir))
            try:
                with function_env(spec.env):
                    module_spec.loader.exec_module(module)
            except BaseException:
                del sys.modules[module_name]
                raise
            finally:
                sys.path.remove(str(spec.code_dir))
            handler: Handler = getattr(module, attr)
            self._modules[spec.logical_id] = handler
            return handler

    def invoke(self, name_or_id: str, event: Any) -> Any:
        """Call the handler and return its result; a raised exception becomes :class:`FunctionError`."""
        spec = self.spec(name_or_id)
        context = LambdaContext(
            function_name=spec.name,
            memory_limit_in_mb=spec.memory_mb,
            invoked_function_arn=spec.arn,
            aws_request_id=str(uuid.uuid4()),
            timeout_s=spec.timeout_s,
        )
        self.invocations[spec.logical_id] = self.invocations.get(spec.logical_id, 0) + 1
        try:
            handler = self._handler(spec)
            with function_env({**spec.env, "AWS_LAMBDA_FUNCTION_NAME": spec.name}):
                return handler(event, context)
        except Exception as exc:
            _log.warning("function %s failed: %s: %s", spec.logical_id, type(exc).__name__, exc)
            raise FunctionError(error_payload(exc)) from exc

    def invoke_json(self, name_or_id: str, payload: bytes | str | None) -> tuple[bytes, bool]:
        """The Lambda Invoke API: JSON in, (JSON out, errored)."""
        event = json.loads(payload) if payload else {}
        try:
            result = self.invoke(name_or_id, event)
        except FunctionError as err:
            return json.dumps(err.payload).encode(), True
        return json.dumps(result, default=str).encode(), False
