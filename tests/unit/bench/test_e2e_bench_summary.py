"""The end-to-end benchmark's pure helpers: percentiles, summaries, caller tags, calls per order."""

from collections import Counter

from bench.e2e_bench import caller_of, per_order, percentile, summary_ms


def test_percentile_is_nearest_rank() -> None:
    # Given the durations 1..100
    values = [float(v) for v in range(100, 0, -1)]
    # When / Then the nearest-rank percentiles are the ranked values
    assert percentile(values, 0.50) == 50.0
    assert percentile(values, 0.99) == 99.0
    assert percentile(values, 1.0) == 100.0
    assert percentile([7.0], 0.99) == 7.0


def test_summary_is_in_milliseconds_and_empty_is_only_a_count() -> None:
    # Given durations in seconds
    seconds = [0.001, 0.002, 0.003, 0.004]
    # When they are summarised
    summary = summary_ms(seconds)
    # Then p50/p99/max are milliseconds; no durations give only a zero count
    assert summary == {"count": 4, "p50_ms": 2.0, "p99_ms": 4.0, "max_ms": 4.0}
    assert summary_ms([]) == {"count": 0}


def test_caller_comes_from_the_sdk_app_id() -> None:
    # Given botocore user agents with and without an app id
    functions = "Boto3/1.35 md/Botocore#1.35 ua/2.0 os/linux app/e2e-functions"
    matcher = "Boto3/1.35 ua/2.0 app/e2e-matcher cfg/retry-mode#legacy"
    # When / Then the bench's callers are named, anything else is "other"
    assert caller_of(functions) == "functions"
    assert caller_of(matcher) == "matcher"
    assert caller_of("Boto3/1.35 ua/2.0 app/e2e-pollers") == "pollers"
    assert caller_of("Boto3/1.35 ua/2.0 app/someone-else") == "other"
    assert caller_of("curl/8.0") == "other"


def test_calls_per_order_group_by_caller_and_action() -> None:
    # Given counted calls for 4 orders
    counts = Counter(
        {
            ("functions", "sqs", "SendMessage"): 4,
            ("functions", "dynamodb", "PutItem"): 8,
            ("matcher", "events", "PutEvents"): 2,
        }
    )
    # When they are divided per order
    result = per_order(counts, 4)
    # Then each caller has its actions per order and their total
    assert result == {
        "functions": {"total": 3.0, "actions": {"dynamodb:PutItem": 2.0, "sqs:SendMessage": 1.0}},
        "matcher": {"total": 0.5, "actions": {"events:PutEvents": 0.5}},
    }
