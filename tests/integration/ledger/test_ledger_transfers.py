"""Deposits and withdrawals against the real schema."""

import pytest
from ledger_world import World
from trading.domain.errors import DomainError, ErrorCode
from trading.ledger import post_transfer, reconcile


def test_deposit_credits_available_and_writes_two_balanced_legs(world: World) -> None:
    # Given an account
    world.account("alice")
    # When 100 USD is deposited
    with world.conn:
        result = post_transfer(world.conn, "t1", "alice", "USD", "DEPOSIT", 100_000_000)
    # Then the balance is credited and the journal has the account leg and the external leg
    assert result.applied and result.available == 100_000_000
    assert world.balance("alice", "USD") == (100_000_000, 0)
    assert world.scalar("SELECT count(*) FROM ledger_entries WHERE journal_id = 'deposit:t1'") == 2
    external = world.scalar("SELECT sum(amount) FROM ledger_entries WHERE account_id = 'external'")
    assert external == -100_000_000


def test_the_same_transfer_twice_is_applied_once(world: World) -> None:
    # Given a posted deposit
    world.account("alice")
    with world.conn:
        post_transfer(world.conn, "t1", "alice", "USD", "DEPOSIT", 5)
    # When it is posted again
    with world.conn:
        again = post_transfer(world.conn, "t1", "alice", "USD", "DEPOSIT", 5)
    # Then nothing changes
    assert not again.applied
    assert world.balance("alice", "USD") == (5, 0)
    assert world.scalar("SELECT count(*) FROM ledger_entries") == 2


def test_reusing_a_transfer_id_for_another_amount_is_a_conflict(world: World) -> None:
    # Given a posted deposit
    world.account("alice")
    with world.conn:
        post_transfer(world.conn, "t1", "alice", "USD", "DEPOSIT", 5)
    # When the id is reused for a different amount / Then it is refused
    with pytest.raises(DomainError) as err, world.conn:
        post_transfer(world.conn, "t1", "alice", "USD", "DEPOSIT", 6)
    assert err.value.code is ErrorCode.IDEMPOTENCY_CONFLICT


def test_withdrawal_above_available_is_refused_and_changes_nothing(world: World) -> None:
    # Given 10 USD of which 4 are held by an order
    world.account("alice", USD=10)
    world.hold("o1", "alice", "USD", "BTC-USD", 4)
    # When 7 are withdrawn (more than the 6 available)
    with pytest.raises(DomainError) as err, world.conn:
        post_transfer(world.conn, "w1", "alice", "USD", "WITHDRAWAL", 7)
    # Then it is INSUFFICIENT_FUNDS and no transfer, journal or balance change exists
    assert err.value.code is ErrorCode.INSUFFICIENT_FUNDS
    assert world.balance("alice", "USD") == (6, 4)
    assert world.scalar("SELECT count(*) FROM transfers WHERE transfer_id = 'w1'") == 0
    assert world.scalar("SELECT count(*) FROM journals WHERE journal_id = 'withdrawal:w1'") == 0


def test_failed_withdrawal_leaves_the_callers_transaction_usable(world: World) -> None:
    # Given an account with 10 USD and a caller doing several things in one transaction
    world.account("alice", USD=10)
    with world.conn:
        with pytest.raises(DomainError):
            post_transfer(world.conn, "w1", "alice", "USD", "WITHDRAWAL", 11)
        # When the caller goes on after the refusal
        post_transfer(world.conn, "w2", "alice", "USD", "WITHDRAWAL", 3)
    # Then only the second withdrawal happened and the books reconcile
    assert world.balance("alice", "USD") == (7, 0)
    with world.conn:
        assert reconcile(world.conn).ok


@pytest.mark.parametrize(
    ("account", "asset", "amount", "code"),
    [
        ("nobody", "USD", 1, ErrorCode.NOT_FOUND),
        ("external", "USD", 1, ErrorCode.NOT_FOUND),
        ("alice", "DOGE", 1, ErrorCode.VALIDATION_ERROR),
        ("alice", "USD", 0, ErrorCode.INVALID_AMOUNT),
    ],
)
def test_bad_transfers_are_refused(
    world: World, account: str, asset: str, amount: int, code: ErrorCode
) -> None:
    # Given an account
    world.account("alice")
    # When a transfer names a missing account, an unknown asset or a non-positive amount
    with pytest.raises(DomainError) as err, world.conn:
        post_transfer(world.conn, "t", account, asset, "DEPOSIT", amount)
    # Then it is refused with a stable code
    assert err.value.code is code
