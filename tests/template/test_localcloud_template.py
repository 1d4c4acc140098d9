"""localcloud.template on small synthetic templates: the rewriting rules the runtime relies on."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from localcloud.template import function_code_dirs, load_template, rehearsal_template


def _template(resources: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"AWSTemplateFormatVersion": "2010-09-09", "Resources": resources, **extra}


def test_short_form_intrinsics_load_as_long_form(tmp_path: Path) -> None:
    # Given YAML with short-form tags, nested
    source = tmp_path / "t.yaml"
    source.write_text(
        "Resources:\n"
        "  A:\n"
        "    Type: AWS::SQS::Queue\n"
        "    Properties:\n"
        "      QueueName: !Sub '${AWS::StackName}-q'\n"
        "      Tags:\n"
        "        - Key: arn\n"
        "          Value: !GetAtt B.Arn\n"
        "        - Key: pick\n"
        "          Value: !If [IsProd, !Select [0, !GetAZs ''], !Ref AWS::NoValue]\n",
        encoding="utf-8",
    )

    # When loading it
    tags = load_template(source)["Resources"]["A"]["Properties"]["Tags"]

    # Then every tag became its Fn:: form
    assert tags[0]["Value"] == {"Fn::GetAtt": ["B", "Arn"]}
    assert tags[1]["Value"] == {
        "Fn::If": ["IsProd", {"Fn::Select": [0, {"Fn::GetAZs": ""}]}, {"Ref": "AWS::NoValue"}]
    }


def test_references_to_skipped_resources_use_replacements_or_placeholders(tmp_path: Path) -> None:
    # Given a function that references a skipped database proxy and a skipped API, three ways
    translated = _template(
        {
            "Proxy": {"Type": "AWS::RDS::DBProxy", "Properties": {}},
            "Api": {"Type": "AWS::ApiGatewayV2::Api", "Properties": {}},
            "Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "q"}},
            "Fn": {
                "Type": "AWS::Lambda::Function",
                "DependsOn": ["Proxy", "Queue"],
                "Properties": {
                    "Code": {"S3Bucket": "b", "S3Key": "functions/x"},
                    "Environment": {
                        "Variables": {
                            "HOST": {"Fn::GetAtt": ["Proxy", "Endpoint"]},
                            "URL": {"Fn::Sub": "https://${Api}.example/${Api.ApiEndpoint}/${Queue}"},
                            "LIST": {"Fn::Sub": ["${X}-${Proxy}", {"X": {"Ref": "Api"}}]},
                        }
                    },
                },
            },
        }
    )

    # When building the rehearsal template with one replacement
    result = rehearsal_template(translated, tmp_path, replacements={"Proxy.Endpoint": "127.0.0.1"})

    # Then the replacement and placeholders are used, kept resources stay referenced, DependsOn is pruned
    function = result["Resources"]["Fn"]
    env = function["Properties"]["Environment"]["Variables"]
    assert env["HOST"] == "127.0.0.1"
    assert env["URL"] == {"Fn::Sub": "https://local-Api.example/local-Api-ApiEndpoint/${Queue}"}
    assert env["LIST"] == {"Fn::Sub": ["${X}-local-Proxy", {"X": "local-Api"}]}
    assert function["DependsOn"] == ["Queue"]
    assert set(result["Resources"]) == {"Queue", "Fn"}
    assert function_code_dirs(result) == {"Fn": tmp_path.resolve() / "functions" / "x"}


def test_event_bus_references_become_its_name_attribute(tmp_path: Path) -> None:
    # Given a rule that refers to a bus by Ref, and an output that names it inside Fn::Sub
    translated = _template(
        {
            "Bus": {"Type": "AWS::Events::EventBus", "Properties": {"Name": "b"}},
            "Rule": {"Type": "AWS::Events::Rule", "Properties": {"EventBusName": {"Ref": "Bus"}}},
        },
        Outputs={"BusText": {"Value": {"Fn::Sub": "bus=${Bus}"}}},
    )

    # When building the rehearsal template
    result = rehearsal_template(translated, tmp_path)

    # Then both read the bus's Name attribute (moto returns its model object for a Ref)
    assert result["Resources"]["Rule"]["Properties"]["EventBusName"] == {"Fn::GetAtt": ["Bus", "Name"]}
    assert result["Outputs"]["BusText"]["Value"] == {"Fn::Sub": "bus=${Bus.Name}"}


def test_state_machine_substitutions_fold_into_one_sub(tmp_path: Path) -> None:
    # Given a translated state machine: a joined definition plus DefinitionSubstitutions
    translated = _template(
        {
            "Machine": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {
                    "DefinitionString": {"Fn::Join": ["\n", ['{"Resource":', '"${FnArn}"}']]},
                    "DefinitionSubstitutions": {"FnArn": {"Fn::GetAtt": ["Fn", "Arn"]}},
                },
            }
        }
    )

    # When building the rehearsal template
    props = rehearsal_template(translated, tmp_path)["Resources"]["Machine"]["Properties"]

    # Then one Fn::Sub carries the literal definition and the substitutions
    assert "DefinitionSubstitutions" not in props
    assert props["DefinitionString"] == {
        "Fn::Sub": ['{"Resource":\n"${FnArn}"}', {"FnArn": {"Fn::GetAtt": ["Fn", "Arn"]}}]
    }


def test_parameters_without_default_get_one_and_skips_are_recorded(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a parameter without default and two skipped resources of one type
    translated = _template(
        {
            "A": {"Type": "AWS::WAFv2::WebACL", "Properties": {}},
            "B": {"Type": "AWS::WAFv2::WebACL", "Properties": {}},
        },
        Parameters={"Image": {"Type": "String"}, "Env": {"Type": "String", "Default": "dev"}},
        Transform="AWS::Serverless-2016-10-31",
    )

    # When building the rehearsal template
    with caplog.at_level(logging.DEBUG, logger="localcloud.template"):
        result = rehearsal_template(translated, tmp_path)

    # Then the parameter is satisfiable, the transform is gone, and one line names both skipped ACLs
    # (at DEBUG; the terminal's INFO gets one summary line for every skipped resource)
    assert result["Parameters"] == {
        "Image": {"Type": "String", "Default": "local"},
        "Env": {"Type": "String", "Default": "dev"},
    }
    assert "Transform" not in result
    assert result["Metadata"]["LocalCloud"]["Skipped"] == {
        "A": "AWS::WAFv2::WebACL",
        "B": "AWS::WAFv2::WebACL",
    }
    lines = [r.getMessage() for r in caplog.records if "AWS::WAFv2::WebACL" in r.getMessage()]
    assert lines == ["skipping 2 AWS::WAFv2::WebACL (A, B): no WAF locally"]
    assert [r.levelno for r in caplog.records if "AWS::WAFv2::WebACL" in r.getMessage()] == [logging.DEBUG]
    info = [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.INFO and r.name == "localcloud.template"
    ]
    assert info == [
        "not hosted locally: 2 resources of 1 types (WAFv2); --log-level DEBUG lists each with the reason"
    ]
    assert translated["Resources"]["A"]["Type"] == "AWS::WAFv2::WebACL"  # the input is not modified
