"""A ``new`` command that arrives after the hold sweeper expired its order (``INTAKE_EXPIRED``)."""

from __future__ import annotations

from matcher_cloud import by_type, limit
from trading.domain.enums import Side


def test_a_new_command_for_an_expired_order_is_skipped(cloud, make_matcher):
    # Given a resting sell, and a crossing buy whose send timed out but was delivered late,
    # after the sweeper had already rejected the PENDING order and released its hold
    matcher = make_matcher()
    matcher.recover()
    cloud.send(limit("s1", "alice", Side.SELL, 3_000_000, 5))
    matcher.poll_once()
    levels_before = cloud.levels("BTC-USD")
    seq_before = cloud.checkpoint("BTC-USD")
    cloud.send(limit("x1", "bob", Side.BUY, 3_000_000, 3))
    cloud.ddb.update_item(
        TableName=cloud.names["orders"],
        Key={"order_id": {"S": "x1"}},
        UpdateExpression="SET #s = :r, reject_code = :c",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":r": {"S": "REJECTED"}, ":c": {"S": "INTAKE_EXPIRED"}},
    )

    # When the matcher handles the late command
    matcher.poll_once()

    # Then it is skipped: no event for it, no trade, the book and checkpoint unchanged, message consumed
    events = cloud.drain_events()
    assert [e["detail"]["order_id"] for e in events if e["detail-type"] == "OrderAccepted"] == ["s1"]
    assert by_type(events, "TradeExecuted") == []
    assert not any(e["detail"].get("order_id") == "x1" for e in events)
    assert cloud.levels("BTC-USD") == levels_before == {("SELL", 3_000_000): 5}
    assert cloud.checkpoint("BTC-USD") == seq_before
    assert (cloud.order("x1")["status"], cloud.order("x1")["reject_code"]) == ("REJECTED", "INTAKE_EXPIRED")
    assert cloud.order("s1")["status"] == "OPEN"
    assert cloud.queue_empty()
