"""Admin Lambda: direct ``lambda:InvokeFunction`` only (IAM); no API route reaches it.

Event: one admin command, e.g. ``{"action": "halt", "symbol": "BTC-USD"}`` (see
``trading.admin.commands``). Answers ``{"ok": true, "result": ...}`` or ``{"ok": false, "code", "message"}``.
"""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError
from trading.admin.commands import COMMAND, AdminEnv, execute
from trading.domain.errors import DomainError, ErrorCode

logger = Logger()
_env = AdminEnv()


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        command = COMMAND.validate_python(event)
        logger.info("admin command", extra={"action": command.action})
        return {"ok": True, "result": execute(command, _env)}
    except ValidationError as exc:
        return {"ok": False, "code": str(ErrorCode.VALIDATION_ERROR), "message": str(exc)}
    except DomainError as exc:
        return {"ok": False, "code": str(exc.code), "message": exc.message}
