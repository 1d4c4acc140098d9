"""``matcher-service``: the container entrypoint (and the local runtime's subprocess)."""

import logging
import signal
import sys
from types import FrameType

import boto3

from matcher_service.config import MatcherSettings
from matcher_service.http_server import HealthServer
from matcher_service.metrics import Metrics
from matcher_service.publisher import EventPublisher
from matcher_service.service import Matcher
from matcher_service.store import BookStore

log = logging.getLogger("matcher_service")


def queue_stats(sqs: object, queue_url: str) -> dict[str, int]:
    response = sqs.get_queue_attributes(  # type: ignore[attr-defined]
        QueueUrl=queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )
    attributes = response.get("Attributes", {})
    return {
        "queue_visible": int(attributes.get("ApproximateNumberOfMessages", 0)),
        "queue_in_flight": int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
    }


def build(settings: MatcherSettings) -> tuple[Matcher, Metrics]:
    session = boto3.session.Session()
    metrics = Metrics()
    store = BookStore(
        session.client("dynamodb"),
        settings.orders_table,
        settings.order_books_table,
        settings.instruments_table,
    )
    publisher = EventPublisher(session.client("events"), settings.event_bus_name)
    sqs = session.client("sqs")
    metrics.queue_stats = lambda: queue_stats(sqs, settings.orders_queue_url)
    return Matcher(settings, store, publisher, sqs, metrics), metrics


def main() -> None:
    settings = MatcherSettings()
    logging.basicConfig(
        level=settings.log_level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    matcher, metrics = build(settings)
    server = HealthServer(settings.matcher_http_host, settings.matcher_http_port, metrics)
    server.start()
    log.info("matcher listening on port %d", server.port)

    def stop(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %d: finishing the current batch", signum)
        matcher.stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        matcher.run()
    finally:
        server.stop()
    log.info("matcher stopped")


if __name__ == "__main__":
    main()
