"""`settle` Lambda: the Task of the settlement state machine (statemachines/settlement.asl.json).

Input: the ``TradeExecuted`` EventBridge event (or a batch of them). All trades settle in one
transaction, idempotent on trade id. Transient database failures raise
``TransientSettlementError`` (the state machine retries on that class name); anything else raises
``PermanentSettlementError`` after counting ``SettlementFailures`` (alarmed), and the state
machine's Catch parks the input in the settlement DLQ.
"""

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from psycopg2.extensions import connection
from trading.domain.instruments import Instrument
from trading.ledger import wiring
from trading.ledger.errors import PermanentSettlementError, TransientSettlementError
from trading.ledger.workflow import run_settlement

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(
    event: Any,
    context: LambdaContext,
    connect: Callable[[], AbstractContextManager[connection]] = wiring.writer,
    instruments: Callable[[], Mapping[str, Instrument]] = wiring.instruments,
) -> dict[str, Any]:
    try:
        result = run_settlement(connect, event, instruments())
    except TransientSettlementError as exc:
        metrics.add_metric(name="SettlementRetries", unit=MetricUnit.Count, value=1)
        logger.warning(
            "transient settlement failure; the state machine retries",
            extra={"error": str(exc), "db_pool": wiring.db_pool_stats()},
        )
        raise
    except PermanentSettlementError as exc:
        metrics.add_metric(name="SettlementFailures", unit=MetricUnit.Count, value=1)
        logger.error("permanent settlement failure; the input goes to the DLQ", extra={"error": str(exc)})
        raise
    metrics.add_metric(name="TradesSettled", unit=MetricUnit.Count, value=len(result.settled))
    metrics.add_metric(name="DuplicateTrades", unit=MetricUnit.Count, value=len(result.duplicates))
    metrics.add_metric(name="HoldsReleased", unit=MetricUnit.Count, value=len(result.released_holds))
    pools = wiring.db_pool_stats()
    if pools:
        metrics.add_metric(name="DbPoolConnections", unit=MetricUnit.Count, value=pools["writer"]["size"])
    logger.info(
        "settled", extra={"settled": result.settled, "duplicates": result.duplicates, "db_pool": pools}
    )
    return {
        "settled": result.settled,
        "duplicates": result.duplicates,
        "released_holds": result.released_holds,
    }
