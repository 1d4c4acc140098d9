import pytest
from trading.domain.errors import DomainError, ErrorCode
from trading.realtime.channels import ChannelKind, parse_channel


@pytest.mark.parametrize(
    ("name", "kind", "key"),
    [
        ("book:BTC-USD", ChannelKind.BOOK, "book:BTC-USD"),
        ("trades:ETH-USD", ChannelKind.TRADES, "trades:ETH-USD"),
        ("ticker:BTC-USD", ChannelKind.TICKER, "ticker:BTC-USD"),
    ],
)
def test_public_channels_are_stored_under_their_own_name(name, kind, key):
    # When
    channel = parse_channel(name, account_id="acct-1")
    # Then
    assert (channel.kind, channel.name, channel.key, channel.is_private) == (kind, name, key, False)


def test_orders_channel_is_keyed_by_the_connections_own_account():
    # When
    channel = parse_channel("orders", account_id="acct-1")
    # Then
    assert channel.name == "orders"
    assert channel.key == "orders:acct-1"
    assert channel.is_private


@pytest.mark.parametrize("name", ["orders:acct-2", "orders:", "orders:acct-1"])
def test_a_client_cannot_name_an_account_in_the_orders_channel(name):
    # When / Then: only the bare "orders" exists; the account always comes from the connection
    with pytest.raises(DomainError) as raised:
        parse_channel(name, account_id="acct-1")
    assert raised.value.code is ErrorCode.VALIDATION_ERROR


def test_orders_channel_needs_an_authenticated_account():
    with pytest.raises(DomainError) as raised:
        parse_channel("orders", account_id=None)
    assert raised.value.code is ErrorCode.UNAUTHENTICATED


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("", ErrorCode.VALIDATION_ERROR),
        ("candles:BTC-USD", ErrorCode.VALIDATION_ERROR),
        ("book", ErrorCode.VALIDATION_ERROR),
        ("book:", ErrorCode.UNKNOWN_SYMBOL),
        ("book:btc-usd", ErrorCode.UNKNOWN_SYMBOL),
        ("book:BTC USD", ErrorCode.UNKNOWN_SYMBOL),
        ("book:" + "X" * 80, ErrorCode.VALIDATION_ERROR),
    ],
)
def test_malformed_channel_names_are_rejected_with_a_stable_code(name, code):
    with pytest.raises(DomainError) as raised:
        parse_channel(name, account_id="acct-1")
    assert raised.value.code is code
