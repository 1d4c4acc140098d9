"""``python -m trading.admin`` against a running ``python -m localcloud run`` with no environment.

The runtime runs as ``make run`` does, with its data dir at ``<cwd>/.local-data``; every admin call
is a fresh process with only ``PATH`` and ``HOME`` set, started in that directory, so it can only
find the runtime through the descriptor (``localcloud.descriptor``, ``trading.admin.local``).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from trading.client import TradingClient

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.xdist_group("localcloud-cli")


def _clean_env(home: Path) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home)}


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    workdir = tmp_path_factory.mktemp("admin-cli")
    data_dir = workdir / ".local-data"
    log = (workdir / "runtime.log").open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "localcloud",
            "run",
            "--data-dir",
            str(data_dir),
            "--rest-port",
            "0",
            "--ws-port",
            "0",
        ],
        cwd=REPO,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    descriptor = data_dir / "runtime.json"
    try:
        deadline = time.monotonic() + 120
        while not descriptor.exists():
            assert process.poll() is None, (workdir / "runtime.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "no descriptor"
            time.sleep(0.5)
        yield {"workdir": workdir, "data_dir": data_dir, "descriptor": json.loads(descriptor.read_text())}
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(60)
        log.close()
    # A clean stop removes the descriptor
    assert not descriptor.exists()


def admin(running: dict[str, Any], *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: PLW1510 - the exit code is asserted by each caller
        [sys.executable, "-m", "trading.admin", *args],
        cwd=cwd or running["workdir"],
        env=_clean_env(running["workdir"]),
        capture_output=True,
        text=True,
        timeout=120,
    )


def one_line_error(result: subprocess.CompletedProcess[str]) -> dict[str, str]:
    assert result.stdout == "" and "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    error = json.loads(lines[0])
    assert set(error) == {"code", "message"}
    return dict(error)


def test_the_descriptor_names_the_runtime_and_keeps_table_names_stable(running: dict[str, Any]) -> None:
    document = running["descriptor"]
    # Then it carries the endpoints, a DSN and every table under its stable <stack>-<LogicalId> name
    assert document["urls"]["rest"].startswith("http://127.0.0.1:")
    assert document["dsn"].startswith("postgresql://")
    assert document["tables"]["OrdersTable"] == f"{document['stack_name']}-OrdersTable"
    assert all(name == f"{document['stack_name']}-{lid}" for lid, name in document["tables"].items())
    assert (running["data_dir"] / "runtime.json").stat().st_mode & 0o077 == 0  # private: it holds secrets


def test_every_admin_command_works_with_no_environment(running: dict[str, Any]) -> None:
    # When carol is created, funded and given a key with nothing but PATH and HOME set
    created = admin(running, "create-account", "carol")
    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout)["account_id"] == "carol"
    deposit = admin(running, "deposit", "carol", "USD", "1000.50")
    assert deposit.returncode == 0 and json.loads(deposit.stdout)["atoms"] == 1_000_500_000, deposit.stderr
    key = admin(running, "create-key", "carol")
    assert key.returncode == 0, key.stderr
    secret = json.loads(key.stdout)
    # Then the key works against the runtime's API and shows the deposit
    client = TradingClient(running["descriptor"]["urls"]["rest"], secret["key_id"], secret["secret"])
    balances = client.balances().json()["balances"]
    assert {b["asset"]: b["available"] for b in balances}["USD"] == "1000.500000"

    # And halt and resume change the instrument the API serves
    assert admin(running, "halt", "ETH-USD").returncode == 0
    status = {
        i["symbol"]: i["status"]
        for i in httpx.get(f"{client_url(running)}/v1/instruments").json()["instruments"]
    }
    assert status["ETH-USD"] == "HALTED"
    assert admin(running, "resume", "ETH-USD").returncode == 0

    # And revoke-key takes the key away (list-keys shows it revoked)
    revoked = admin(running, "revoke-key", secret["key_id"])
    assert revoked.returncode == 0, revoked.stderr
    listed = admin(running, "list-keys", "carol")
    assert listed.returncode == 0, listed.stderr
    assert secret["key_id"] in listed.stdout and "REVOKED" in listed.stdout.upper()


def client_url(running: dict[str, Any]) -> str:
    return str(running["descriptor"]["urls"]["rest"])


@pytest.mark.parametrize(
    ("args", "code", "exit_code"),
    [
        (("halt", "NOPE-USD"), "UNKNOWN_SYMBOL", 1),
        (("deposit", "carol", "USD", "-5"), "INVALID_AMOUNT", 1),
        (("deposit", "carol", "XYZ", "5"), "VALIDATION_ERROR", 1),
        (("create-key", "nobody-here"), "NOT_FOUND", 1),
        (("no-such-command",), "USAGE", 2),
        (("deposit", "carol"), "USAGE", 2),
    ],
)
def test_a_bad_input_is_answered_with_one_line_and_a_code(
    running: dict[str, Any], args: tuple[str, ...], code: str, exit_code: int
) -> None:
    result = admin(running, *args)
    assert result.returncode == exit_code
    assert one_line_error(result)["code"] == code


def test_without_a_running_runtime_the_answer_is_one_line(running: dict[str, Any], tmp_path: Path) -> None:
    # Given a directory with no runtime, and a descriptor left by a killed one
    empty = admin(running, "--local", str(tmp_path / "nothing"), "create-account", "dave")
    stale_dir = tmp_path / "stale"
    stale_dir.mkdir()
    (stale_dir / "runtime.json").write_text(json.dumps({**running["descriptor"], "pid": 2**22 + 12345}))
    stale = admin(running, "--local", str(stale_dir), "create-account", "dave")
    # Then each is one line with its code, exit 3
    assert (empty.returncode, one_line_error(empty)["code"]) == (3, "LOCAL_RUNTIME_NOT_FOUND")
    assert (stale.returncode, one_line_error(stale)["code"]) == (3, "LOCAL_RUNTIME_NOT_RUNNING")


def test_the_terminal_stays_quiet_and_function_logs_go_to_the_data_dir(running: dict[str, Any]) -> None:
    # Given the runtime has served signed requests (each logs JSON lines and EMF metrics)
    key = running["descriptor"]["demo_keys"][0]
    client = TradingClient(client_url(running), key["key_id"], key["secret"])
    for _ in range(3):
        assert client.balances().status_code == 200
    functions_log = running["data_dir"] / "functions.log"
    deadline = time.monotonic() + 30
    while '"level":"INFO"' not in functions_log.read_text():
        assert time.monotonic() < deadline, "no function log line in functions.log"
        time.sleep(0.2)
    # Then the terminal (the runtime's stdout and stderr) has none of them, and the resources it
    # does not host are one line
    terminal = (running["workdir"] / "runtime.log").read_text()
    assert '"level":"INFO"' not in terminal and '"_aws"' not in terminal
    assert terminal.count("not hosted locally:") == 1 and "skipping" not in terminal
    assert "functions.log" in terminal  # the banner says where they are


def test_the_sam_env_vars_file_covers_every_functions_template_environment(running: dict[str, Any]) -> None:
    # Given the template's functions as SAM translates them (Globals merged into each)
    from localcloud.template import translate_template

    translated = translate_template(REPO / "template.yaml", {})
    declared = {
        logical_id: set((resource["Properties"].get("Environment") or {}).get("Variables") or {})
        for logical_id, resource in translated["Resources"].items()
        if resource["Type"] == "AWS::Lambda::Function"
    }
    # When the runtime has written <data-dir>/sam-env.json (for `sam local start-api --env-vars`)
    env_file = running["data_dir"] / "sam-env.json"
    document = json.loads(env_file.read_text())
    # Then every function of the template is there with every variable it declares
    assert declared and set(declared) <= set(document)
    missing = {
        f: sorted(names - set(document[f])) for f, names in declared.items() if names - set(document[f])
    }
    assert missing == {}
    # And the values are this runtime's: its tables, its PostgreSQL, its AWS endpoint
    descriptor = running["descriptor"]
    place = document["PlaceOrderFunction"]
    assert place["ORDERS_TABLE"] == descriptor["tables"]["OrdersTable"]
    assert place["DB_WRITER_HOST"] == "127.0.0.1"
    assert place["DB_PORT"] == descriptor["dsn"].rsplit(":", 1)[1].split("/")[0]
    assert place["AWS_ENDPOINT_URL"] == descriptor["aws_endpoint_url"]
    assert env_file.stat().st_mode & 0o077 == 0
