"""Event sources from the template: SQS poller with redrive, EventBridge -> Step Functions, schedules."""

from __future__ import annotations

import json
import time
import uuid

import boto3
import pytest
from localcloud.lambdas import FunctionError

pytestmark = pytest.mark.xdist_group("localcloud")


def _client(runtime, service):
    return boto3.client(service, endpoint_url=runtime.moto.endpoint, region_name=runtime.region)


def _eventually(probe, timeout_s=30.0, interval_s=0.2):
    deadline = time.monotonic() + timeout_s
    while True:
        found = probe()
        if found or time.monotonic() > deadline:
            return found
        time.sleep(interval_s)


def test_a_poison_message_lands_in_the_dlq_after_max_receive_count(demo_runtime):
    # Given the work queue (maxReceiveCount 2, visibility 1 s) consumed by a function that reports
    # "poison" as a failed batch item
    sqs = _client(demo_runtime, "sqs")
    queue_url = demo_runtime.physical_ids["WorkQueue"]
    dlq_url = demo_runtime.physical_ids["WorkDeadLetterQueue"]
    good = uuid.uuid4().hex
    # When a good and a poison message are sent
    sqs.send_message(QueueUrl=queue_url, MessageBody=good)
    sqs.send_message(QueueUrl=queue_url, MessageBody="poison")

    # Then the poison message is redriven to the DLQ after its receives ran out
    def dead_lettered():
        answer = sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10, AttributeNames=["All"])
        return answer.get("Messages")

    dead = _eventually(dead_lettered)
    assert dead, "the poison message never reached the DLQ"
    assert [m["Body"] for m in dead] == ["poison"]
    assert int(dead[0]["Attributes"]["ApproximateReceiveCount"]) >= 2
    # And the good message of the same batch was processed once and deleted
    table = boto3.resource(
        "dynamodb", endpoint_url=demo_runtime.moto.endpoint, region_name="us-east-1"
    ).Table(demo_runtime.physical_ids["EventsTable"])
    assert table.get_item(Key={"pk": f"sqs#{good}"}).get("Item") is not None
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "0"
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "0"


def test_an_eventbridge_rule_starts_the_state_machine_and_its_execution_succeeds(demo_runtime):
    # Given the template's rule (source test.source, detail-type Happened) -> Workflow
    events = _client(demo_runtime, "events")
    sfn = _client(demo_runtime, "stepfunctions")
    machine_arn = demo_runtime.physical_ids["Workflow"]
    marker = uuid.uuid4().hex
    # When a matching event is put on the bus (moto alone fails PutEvents for this target)
    answer = events.put_events(
        Entries=[
            {
                "Source": "test.source",
                "DetailType": "Happened",
                "Detail": json.dumps({"marker": marker}),
                "EventBusName": f"{demo_runtime.stack_name}-bus",
            }
        ]
    )
    assert answer["FailedEntryCount"] == 0

    # Then an execution of the state machine ran the Lambda task in-process and succeeded
    def finished():
        for execution in sfn.list_executions(stateMachineArn=machine_arn)["executions"]:
            described = sfn.describe_execution(executionArn=execution["executionArn"])
            if marker in described["input"] and described["status"] != "RUNNING":
                return described
        return None

    described = _eventually(finished)
    assert described is not None, "no execution was started"
    assert described["status"] == "SUCCEEDED"
    output = json.loads(described["output"])
    assert output["step"]["detail"] == {"marker": marker}
    assert output["step"]["function_name"] == demo_runtime.functions["StepFunction"].name


def test_the_lambda_invoke_api_runs_the_real_handler(demo_runtime):
    # Given the moto endpoint's Lambda API
    lambda_client = _client(demo_runtime, "lambda")
    # When a function of the template is invoked by name
    answer = lambda_client.invoke(
        FunctionName=demo_runtime.functions["StepFunction"].name, Payload=json.dumps({"detail": {"x": 1}})
    )
    # Then the in-process handler answered
    assert json.loads(answer["Payload"].read()) == {
        "detail": {"x": 1},
        "function_name": demo_runtime.functions["StepFunction"].name,
    }
    assert "FunctionError" not in answer


def test_a_handler_exception_is_an_unhandled_function_error(demo_runtime):
    # Given an event the echo handler cannot read
    lambda_client = _client(demo_runtime, "lambda")
    # When it is invoked through the API
    answer = lambda_client.invoke(FunctionName=demo_runtime.functions["EchoFunction"].name, Payload=b"{}")
    # Then the error comes back the way Lambda reports it
    assert answer["FunctionError"] == "Unhandled"
    assert json.loads(answer["Payload"].read())["errorType"] == "KeyError"


def test_a_schedule_can_be_triggered_now(demo_runtime):
    # Given the template's rate(1 day) schedule on the echo function
    # When a test triggers it by the function's logical id
    results = demo_runtime.trigger_schedule("EchoFunction")
    # Then the function received a scheduled event
    assert results == [{"scheduled": True, "detail_type": "Scheduled Event"}]


def test_triggering_an_unknown_schedule_is_an_error(demo_runtime):
    with pytest.raises(KeyError):
        demo_runtime.trigger_schedule("NoSuchFunction")


def test_invoking_a_function_that_raises_surfaces_a_function_error(demo_runtime):
    with pytest.raises(FunctionError) as raised:
        demo_runtime.invoke("EchoFunction", {})
    assert raised.value.payload["errorType"] == "KeyError"


def test_a_dynamodb_stream_feeds_its_function_and_retries_a_reported_failure(demo_runtime):
    # Given the stream table consumed by a function that fails the first delivery of "fail_once" items
    dynamodb = boto3.resource("dynamodb", endpoint_url=demo_runtime.moto.endpoint, region_name="us-east-1")
    source = dynamodb.Table(demo_runtime.physical_ids["StreamTable"])
    events = dynamodb.Table(demo_runtime.physical_ids["EventsTable"])
    plain, flaky = uuid.uuid4().hex, uuid.uuid4().hex
    # When two items are written
    source.put_item(Item={"pk": plain})
    source.put_item(Item={"pk": flaky, "fail_once": True})

    # Then both changes reached the function, the failed one again after its reported failure
    def recorded(pk):
        return events.get_item(Key={"pk": f"stream#INSERT#{pk}"}).get("Item") is not None

    assert _eventually(lambda: recorded(plain) and recorded(flaky))
    assert events.get_item(Key={"pk": f"failed#{flaky}"}).get("Item") is not None


def test_an_eventbridge_rule_invokes_a_lambda_target(demo_runtime):
    # Given the template's rule (detail-type Pinged) -> ListenerFunction
    events = _client(demo_runtime, "events")
    dynamodb = boto3.resource("dynamodb", endpoint_url=demo_runtime.moto.endpoint, region_name="us-east-1")
    table = dynamodb.Table(demo_runtime.physical_ids["EventsTable"])
    marker = uuid.uuid4().hex
    # When a matching event is put on the bus
    entry = {
        "Source": "test.source",
        "DetailType": "Pinged",
        "Detail": json.dumps({"marker": marker}),
        "EventBusName": f"{demo_runtime.stack_name}-bus",
    }
    assert events.put_events(Entries=[entry])["FailedEntryCount"] == 0
    # Then the function was invoked (asynchronously) with the event
    item = _eventually(lambda: table.get_item(Key={"pk": f"event#{marker}"}).get("Item"))
    assert item == {"pk": f"event#{marker}", "detail_type": "Pinged"}
