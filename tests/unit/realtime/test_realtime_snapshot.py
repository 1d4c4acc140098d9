import pytest
from trading.realtime.snapshot import MAX_ATTEMPTS, DynamoBookSource, UnstableSnapshotError, build_snapshot


def _level(side: str, price: int, quantity: int) -> dict:
    return {"sk": {"S": f"level#{side}#{price:020d}"}, "quantity": {"N": str(quantity)}}


class RacingTable:
    """A stand-in for the low-level client: the matcher commits ``commits`` batches while the
    levels are being read (each bumps the checkpoint between the two checkpoint reads)."""

    def __init__(self, commits: int) -> None:
        self.seq = 10
        self.commits = commits
        self.levels = [_level("BUY", 100, 5), _level("SELL", 101, 2)]

    def get_item(self, **request):
        assert request["ConsistentRead"] is True
        return {"Item": {"seq": {"N": str(self.seq)}}}

    def query(self, **request):
        prefix = request["ExpressionAttributeValues"][":prefix"]["S"]
        if prefix == "outbox#":
            return {"Items": []}
        if self.commits:
            self.commits -= 1
            self.seq += 1
        return {"Items": list(self.levels)}


def test_the_snapshot_is_read_again_until_no_batch_commits_during_the_read():
    # Given two matcher commits race with the first two reads
    table = RacingTable(commits=2)
    pauses = []
    source = DynamoBookSource(table, "books", pause=pauses.append)
    # When
    snapshot = source.snapshot("BTC-USD")
    # Then
    assert snapshot.seq == 12
    assert pauses == [0, 1]
    assert (snapshot.bids, snapshot.asks) == ([(100, 5)], [(101, 2)])


def test_a_book_that_never_holds_still_is_reported_unstable():
    source = DynamoBookSource(RacingTable(commits=MAX_ATTEMPTS), "books", pause=lambda attempt: None)
    with pytest.raises(UnstableSnapshotError):
        source.snapshot("BTC-USD")


def test_levels_sort_best_first_and_emptied_levels_are_dropped():
    items = [_level("BUY", 99, 1), _level("BUY", 101, 2), _level("SELL", 105, 1), _level("SELL", 103, 0)]
    items.append(_level("SELL", 104, 3))
    snapshot = build_snapshot("BTC-USD", 7, items)
    assert snapshot.bids == [(101, 2), (99, 1)]
    assert snapshot.asks == [(104, 3), (105, 1)]
