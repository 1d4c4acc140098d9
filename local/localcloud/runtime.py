"""The local cloud: moto + embedded PostgreSQL + the template's APIs, event sources and matcher.

``LocalRuntime(...).start()`` brings up, in order: PostgreSQL (data in the data dir, migrations),
moto (in-process), the database secret in moto's Secrets Manager, the template deployed into moto
(the resources moto cannot host are replaced by the runtime: see ``docs/local.md``), the function
environments read back from moto, the REST and WebSocket servers, the event-source pollers and
schedules, the demo seed, and the matcher subprocess. ``stop()`` undoes it in reverse order.

moto keeps its state in memory, so every start re-creates the stack; DynamoDB items and SQS
messages are saved to the data dir on a clean stop and restored on the next start
(:mod:`localcloud.state`). PostgreSQL data persists as is.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import logging
import os
import secrets
import threading
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import psycopg2
import uvicorn
from psycopg2 import sql
from starlette.types import ASGIApp
from trading.adapters.database import stats as database_stats
from trading.db.migrate import apply_migrations

from localcloud import descriptor, moto_cloud, template
from localcloud.app_model import AppModel
from localcloud.lambdas import FunctionSpec, LambdaRunner
from localcloud.matcher import MatcherSupervisor
from localcloud.moto_cloud import ACCOUNT_ID, MotoCloud
from localcloud.pollers import Schedules, SqsPoller, StreamPoller
from localcloud.postgres import Credentials, EmbeddedPostgres, free_port
from localcloud.resolve import Resolver
from localcloud.rest import RestGateway
from localcloud.seed import SeededKey, admin, seed_demo
from localcloud.state import StateStore
from localcloud.websocket import WebSocketGateway

_log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_TEMPLATE = REPO_ROOT / "template.yaml"
DB_USER = "trading"
# Names the runtime gives the resources it hosts itself (referenced by the template's env vars).
LOCAL_REPLACEMENTS = {"DbProxy.Endpoint": "127.0.0.1", "DbProxyReaderEndpoint.Endpoint": "127.0.0.1"}


# Every function of the runtime shares one process, so one pair of database pools (writer, reader)
# serves all their threads: REST requests, Step Functions tasks, pollers and schedules. This bounds
# the runtime's PostgreSQL backends at twice this number (docs/local.md).
DB_POOL_MAX = 8

# Process-wide variables the runtime sets (and restores on stop, so tests can run several runtimes).
_PROCESS_ENV = ("AWS_ENDPOINT_URL", "MOTO_PORT")


def _forget_cached_clients() -> None:
    """The ``trading`` package caches boto3 clients and database connections per process (per
    Lambda container in AWS); a runtime starting or stopping in this process makes them stale.
    Cached connections are only closed when no other runtime's functions may be using them."""
    modules = ["trading.adapters.aws"]
    if not _live_runtimes:
        modules.append("trading.adapters.database")
    for module in modules:
        with contextlib.suppress(ImportError, AttributeError):
            importlib.import_module(module).reset()


_live_runtimes: list[LocalRuntime] = []


class _Server:
    """A uvicorn server on its own thread and event loop."""

    def __init__(self, app: ASGIApp, port: int, name: str) -> None:
        config = uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", lifespan="off", ws="websockets-sansio"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)

    def _run(self) -> None:
        with contextlib.suppress(SystemExit):  # uvicorn exits when it cannot bind; start() reports it
            self.server.run()

    def start(self, timeout_s: float = 10.0) -> None:
        self.thread.start()
        deadline = time.monotonic() + timeout_s
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"{self.thread.name} did not start (port in use?)")
            time.sleep(0.01)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(5)


@dataclass(frozen=True)
class RuntimeUrls:
    rest: str
    ws: str
    ui: str
    endpoint: str
    ws_management: str


class LocalRuntime:
    def __init__(
        self,
        data_dir: Path,
        *,
        rest_port: int = 3000,
        ws_port: int = 3001,
        template_path: Path = DEFAULT_TEMPLATE,
        stack_name: str = "trading",
        parameters: Mapping[str, str] | None = None,
        region: str = "us-east-1",
        run_matcher: bool = True,
        seed: bool = True,
        run_schedules: bool = True,
        persist_dynamodb: bool = True,
        moto_port: int = 0,
        db_pool_max: int = DB_POOL_MAX,
    ) -> None:
        self.data_dir = data_dir.resolve()
        self.rest_port = rest_port or free_port()
        self.ws_port = ws_port or free_port()
        self.template_path = template_path.resolve()
        self.stack_name = stack_name
        self.parameters = dict(parameters or {})
        self.region = region
        self.run_matcher = run_matcher
        self.seed = seed
        self.run_schedules = run_schedules
        self.persist_dynamodb = persist_dynamodb
        self.db_pool_max = db_pool_max
        self.moto = MotoCloud(moto_port or free_port(), region)
        self.postgres = EmbeddedPostgres(self.data_dir / "pg")
        self.db: Credentials | None = None
        self.physical_ids: dict[str, str] = {}
        self.model: AppModel | None = None
        self.runner: LambdaRunner | None = None
        self.rest: RestGateway | None = None
        self.websocket: WebSocketGateway | None = None
        self.schedules: Schedules | None = None
        self.matcher: MatcherSupervisor | None = None
        self.seeded: list[SeededKey] = []
        self._servers: list[_Server] = []
        self._pollers: list[SqsPoller | StreamPoller] = []
        self._started = False
        self._saved_env: dict[str, str | None] = {}
        self._translated: dict[str, Any] = {}
        self._rehearsal: dict[str, Any] = {}
        self._restored = False
        self.matcher_health_url: str | None = None

    # -- public ----------------------------------------------------------------------------------
    @property
    def urls(self) -> RuntimeUrls:
        stage = self.websocket.stage if self.websocket else "ws"
        return RuntimeUrls(
            rest=f"http://127.0.0.1:{self.rest_port}",
            ws=f"ws://127.0.0.1:{self.ws_port}",
            ui=f"http://127.0.0.1:{self.rest_port}/",
            endpoint=self.moto.endpoint,
            ws_management=f"http://127.0.0.1:{self.ws_port}/{stage}",
        )

    @property
    def rest_url(self) -> str:
        return self.urls.rest

    @property
    def ws_url(self) -> str:
        return self.urls.ws

    @property
    def endpoint(self) -> str:
        """The moto endpoint (``AWS_ENDPOINT_URL`` of every function)."""
        return self.moto.endpoint

    def function_env(self, function: str) -> dict[str, str]:
        """The environment a function runs with, by logical id (e.g. ``PlaceOrderFunction``)."""
        return dict(self.functions[function].env)

    @property
    def functions(self) -> dict[str, FunctionSpec]:
        return dict(self.runner.functions) if self.runner else {}

    def invoke(self, function: str, event: Any) -> Any:
        assert self.runner is not None, "runtime not started"
        return self.runner.invoke(function, event)

    def admin(self, command: dict[str, Any]) -> Any:
        """Run an admin command (``trading.admin.commands``) through the admin function."""
        assert self.runner is not None, "runtime not started"
        return admin(self.runner, command)

    def db_pool_stats(self) -> dict[str, Any]:
        """The functions' database pools (size, in use, waits, timeouts...), by endpoint."""
        return {name: pool.as_dict() for name, pool in database_stats().items()}

    def trigger_schedule(self, name: str) -> list[Any]:
        """Run a schedule now, by rule or function logical id (e.g. ``HoldSweeperFunction``)."""
        assert self.schedules is not None, "runtime not started"
        return self.schedules.trigger(name)

    def start(self) -> LocalRuntime:
        started = time.monotonic()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if _live_runtimes:
            _log.warning(
                "another local runtime is running in this process: the functions of both share the "
                "trading package's process-wide caches (clients, database); use one runtime per process"
            )
        _forget_cached_clients()
        _live_runtimes.append(self)
        self._saved_env = {key: os.environ.get(key) for key in _PROCESS_ENV}
        os.environ["AWS_ENDPOINT_URL"] = self.moto.endpoint
        self._started = True
        try:
            self._start(started)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if not self._started:
            return
        self._started = False
        stopping = time.monotonic()
        # The matcher finishes its batch while the pollers and servers wind down.
        matcher = threading.Thread(target=self._step, args=(self._stop_matcher,), name="matcher-stop")
        matcher.start()
        for step in (self._stop_event_sources, self._stop_servers):
            self._step(step)
        matcher.join()
        self._step(self._save_state)
        descriptor.remove(self.data_dir)
        _log.info("database pools at stop: %s", self.db_pool_stats())
        if self.runner is not None:
            moto_cloud.unregister_runner(self.runner)
        self.moto.stop()
        self.postgres.stop()
        if self in _live_runtimes:
            _live_runtimes.remove(self)
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        _forget_cached_clients()
        _log.info("local cloud stopped in %.1f s", time.monotonic() - stopping)

    @staticmethod
    def _step(step: Any) -> None:
        started = time.monotonic()
        try:
            step()
        except Exception:
            _log.exception("shutdown step %s failed", step.__name__)
        _log.debug("shutdown step %s took %.1f s", step.__name__, time.monotonic() - started)

    # -- start -----------------------------------------------------------------------------------
    def _start(self, started: float) -> None:
        with ThreadPoolExecutor(1, thread_name_prefix="postgres-start") as pool:
            postgres_started = pool.submit(self._start_postgres)
            self._start_cloud()
            postgres_started.result()
        assert self.model is not None
        self.runner = LambdaRunner(self._function_specs(self._rehearsal))
        moto_cloud.register_runner(self.runner)
        self._start_servers()
        self._start_event_sources(stream_position_override="LATEST" if self._restored else None)
        if self.seed:
            self.seeded = seed_demo(self.runner)
        if self.run_matcher:
            self._start_matcher(self._translated)
        self._write_descriptor()
        _log.info("local cloud up in %.1f s", time.monotonic() - started)

    def _write_descriptor(self) -> None:
        """``<data dir>/runtime.json``: what ``python -m trading.admin`` needs to find this runtime."""
        urls = self.urls
        admin_fn = "AdminFunction"
        descriptor.write(
            self.data_dir,
            urls={"rest": urls.rest, "ws": urls.ws, "ui": urls.ui, "endpoint": urls.endpoint},
            region=self.region,
            stack_name=self.stack_name,
            dsn=self.db.dsn() if self.db is not None else None,
            tables=self._resources("AWS::DynamoDB::Table"),
            queues=self._resources("AWS::SQS::Queue"),
            admin_env=self.function_env(admin_fn) if admin_fn in self.functions else {},
            demo_keys=[
                {"account_id": k.account_id, "key_id": k.key_id, "secret": k.secret} for k in self.seeded
            ],
        )
        descriptor.write_sam_env(self.data_dir, {name: spec.env for name, spec in self.functions.items()})

    def _start_cloud(self) -> None:
        self.moto.start()
        self._claim_stack_name()
        secret_arn = self._create_db_secret()
        translated = template.translate_template(self.template_path, self.parameters)
        rehearsal = template.rehearsal_template(
            translated,
            self.template_path.parent,
            replacements={**LOCAL_REPLACEMENTS, "DbSecret": secret_arn, "WebSocketApi": "local-ws"},
        )
        descriptor.pin_table_names(rehearsal, self.stack_name)  # the same names on every start
        result = template.deploy_to_moto(
            self.moto.endpoint, self.stack_name, rehearsal, self.parameters, region=self.region
        )
        self.physical_ids = dict(result.physical_ids)
        moto_cloud.sync_state_machines(self.region)
        moto_cloud.detach_event_source_mappings(self.region)
        self.model = AppModel.from_template(translated, self.parameters)
        self._translated, self._rehearsal = translated, rehearsal
        self._restored = self._restore_state()

    def _start_postgres(self) -> None:
        admin_creds = self.postgres.start()
        password = self._db_password()
        conn = psycopg2.connect(admin_creds.dsn())
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (DB_USER,))
                verb = "ALTER" if cur.fetchone() else "CREATE"
                cur.execute(
                    sql.SQL(verb + " ROLE {} LOGIN PASSWORD {}").format(
                        sql.Identifier(DB_USER), sql.Literal(password)
                    )
                )
                cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (self._db_name(),))
                if cur.fetchone() is None:
                    cur.execute(
                        sql.SQL("CREATE DATABASE {} OWNER {}").format(
                            sql.Identifier(self._db_name()), sql.Identifier(DB_USER)
                        )
                    )
        finally:
            conn.close()
        self.db = Credentials(DB_USER, password, admin_creds.host, admin_creds.port, self._db_name())
        apply_migrations(self.db.dsn())

    def _db_name(self) -> str:
        return "trading"

    def _db_password(self) -> str:
        path = self.data_dir / "db-password"
        if not path.exists():
            path.write_text(secrets.token_urlsafe(24))
            path.chmod(0o600)
        return path.read_text().strip()

    def _client(self, service: str) -> Any:
        return boto3.client(service, endpoint_url=self.moto.endpoint, region_name=self.region)  # type: ignore[call-overload]

    def _claim_stack_name(self) -> None:
        """moto's state is per process: a second runtime in one process (tests) gets its own stack."""
        cloudformation = self._client("cloudformation")
        base, suffix = self.stack_name, 1
        while True:
            try:
                stacks = cloudformation.describe_stacks(StackName=self.stack_name)["Stacks"]
            except cloudformation.exceptions.ClientError:
                return
            if all(stack["StackStatus"] == "DELETE_COMPLETE" for stack in stacks):
                return
            suffix += 1
            self.stack_name = f"{base}{suffix}"
            _log.warning("stack %s exists in this process; using %s", base, self.stack_name)

    def _create_db_secret(self) -> str:
        """The connection secret, shaped like an RDS master secret, where the code looks for it."""
        value = json.dumps(
            {
                "username": DB_USER,
                "password": self._db_password(),
                "engine": "postgres",
                "host": "127.0.0.1",
                "port": self.postgres.port,
                "dbname": self._db_name(),
            }
        )
        arn: str = self._client("secretsmanager").create_secret(
            Name=f"{self.stack_name}/db", SecretString=value
        )["ARN"]
        return arn

    def _function_specs(self, rehearsal: Mapping[str, Any]) -> dict[str, FunctionSpec]:
        code_dirs = template.function_code_dirs(rehearsal)
        lambda_client = self._client("lambda")
        overrides = {
            "DB_PORT": str(self.postgres.port),
            "DB_POOL_MAX": str(self.db_pool_max),
            "DB_SSLMODE": "disable",  # the embedded PostgreSQL has no TLS (RDS Proxy: verify-full)
            "WS_MANAGEMENT_ENDPOINT": self.urls.ws_management,
            "AWS_ENDPOINT_URL": self.moto.endpoint,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "POWERTOOLS_TRACE_DISABLED": "true",
        }
        specs = {}
        for logical_id, code_dir in code_dirs.items():
            name = self.physical_ids[logical_id]
            config = lambda_client.get_function_configuration(FunctionName=name)
            env = dict((config.get("Environment") or {}).get("Variables") or {})
            env.update(overrides)
            env.update(
                {
                    "AWS_LAMBDA_FUNCTION_NAME": name,
                    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(config.get("MemorySize", 128)),
                    "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                }
            )
            handler = str(config.get("Handler") or "app.handler")
            specs[logical_id] = FunctionSpec(
                logical_id=logical_id,
                name=name,
                code_dir=code_dir,
                handler=handler,
                env=env,
                timeout_s=int(config.get("Timeout", 3)),
                memory_mb=int(config.get("MemorySize", 128)),
                region=self.region,
                account_id=ACCOUNT_ID,
            )
        return specs

    def _start_servers(self) -> None:
        assert self.model is not None and self.runner is not None
        self.websocket = WebSocketGateway(
            self.runner,
            self.model.ws_routes,
            route_selection=self.model.ws_route_selection,
            stage=self.model.ws_stage,
        )
        ws = _Server(self.websocket.app(), self.ws_port, "websocket-api")
        ws.start()
        self._servers.append(ws)
        if self.model.rest_apis:
            api = self.model.rest_apis[0]
            self.rest = RestGateway(
                api,
                self.runner,
                api_id=self.physical_ids.get(api.logical_id, "local-rest"),
                region=self.region,
                account_id=ACCOUNT_ID,
                web_dir=self.template_path.parent / "web",
                web_config={"ws_url": self.urls.ws},
            )
            rest = _Server(self.rest.app(), self.rest_port, "rest-api")
            rest.start()
            self._servers.append(rest)

    def _start_event_sources(self, stream_position_override: str | None) -> None:
        assert self.model is not None and self.runner is not None
        for queue in self.model.queue_sources:
            if not queue.enabled:
                continue
            self._pollers.append(
                SqsPoller(
                    self.runner,
                    queue.function_id,
                    queue_url=self.physical_ids[queue.queue_id],
                    batch_size=queue.batch_size,
                    report_failures=queue.report_failures,
                    endpoint=self.moto.endpoint,
                    region=self.region,
                )
            )
        dynamodb = self._client("dynamodb")
        for stream in self.model.stream_sources:
            table = dynamodb.describe_table(TableName=self.physical_ids[stream.table_id])["Table"]
            self._pollers.append(
                StreamPoller(
                    self.runner,
                    stream.function_id,
                    stream_arn=table["LatestStreamArn"],
                    batch_size=stream.batch_size,
                    starting_position=stream_position_override or stream.starting_position,
                    report_failures=stream.report_failures,
                    endpoint=self.moto.endpoint,
                    region=self.region,
                )
            )
        for poller in self._pollers:
            poller.start()
        self.schedules = Schedules(
            self.runner,
            self.model.schedules,
            self._start_execution,
            region=self.region,
            account_id=ACCOUNT_ID,
        )
        if self.run_schedules:
            self.schedules.start()

    def _start_execution(self, state_machine_id: str, event: dict[str, Any]) -> None:
        self._client("stepfunctions").start_execution(
            stateMachineArn=self.physical_ids[state_machine_id],
            name=f"local-{secrets.token_hex(8)}",
            input=json.dumps(event),
        )

    def matcher_env(self, translated: Mapping[str, Any]) -> dict[str, str]:
        """The matcher container's environment from the template's task definition, resolved locally."""
        parameters = {
            name: str(spec["Default"])
            for name, spec in (translated.get("Parameters") or {}).items()
            if "Default" in spec
        }
        parameters.update(self.parameters)
        resolver = Resolver(
            self.physical_ids,
            parameters,
            {**template.PSEUDO_PARAMETERS, "AWS::StackName": self.stack_name},
        )
        # moto leaves some physical ids empty (e.g. an event bus); the functions' environments,
        # resolved by moto itself, carry the same contract names (docs/architecture.md).
        shared = {k: v for spec in self.functions.values() for k, v in spec.env.items() if v}
        env: dict[str, str] = {}
        for resource in (translated.get("Resources") or {}).values():
            if resource.get("Type") != "AWS::ECS::TaskDefinition":
                continue
            for container in resource.get("Properties", {}).get("ContainerDefinitions", []):
                for variable in container.get("Environment", []):
                    value = resolver.resolve(variable.get("Value")) or shared.get(str(variable.get("Name")))
                    if value is None:
                        _log.warning("matcher: cannot resolve %s locally; left unset", variable.get("Name"))
                        continue
                    env[str(variable["Name"])] = value
        port = free_port()
        env.update(
            {
                "MATCHER_PORT": str(port),
                "MATCHER_HTTP_PORT": str(port),  # the service's settings name for the same port
                "MATCHER_HTTP_HOST": "127.0.0.1",  # loopback only, no ALB in front locally
                # Short long-polls (messages still arrive at once): Ctrl-C stops it within a second.
                "MATCHER_WAIT_SECONDS": "1",
                "AWS_ENDPOINT_URL": self.moto.endpoint,
                "AWS_REGION": self.region,
                "AWS_DEFAULT_REGION": self.region,
                "AWS_ACCESS_KEY_ID": os.environ.get("AWS_ACCESS_KEY_ID", "testing"),
                "AWS_SECRET_ACCESS_KEY": os.environ.get("AWS_SECRET_ACCESS_KEY", "testing"),
                "POWERTOOLS_TRACE_DISABLED": "true",
            }
        )
        return env

    def _start_matcher(self, translated: Mapping[str, Any]) -> None:
        env = self.matcher_env(translated)
        self.matcher = MatcherSupervisor(env, self.data_dir / "matcher.log")
        self.matcher_health_url = f"http://127.0.0.1:{env['MATCHER_PORT']}/health"
        if not self.matcher.start():
            self.matcher = None

    # -- state across restarts -------------------------------------------------------------------
    def _resources(self, kind: str) -> dict[str, str]:
        """Logical id -> physical id of the stack's resources of one type."""
        assert self.model is not None
        resources = self.model.resources
        return {
            logical_id: physical
            for logical_id, physical in self.physical_ids.items()
            if physical and resources.get(logical_id, {}).get("Type") == kind
        }

    def _state(self) -> StateStore:
        return StateStore(self.data_dir, self.moto.endpoint, self.region, ACCOUNT_ID)

    def _save_state(self) -> None:
        if self.persist_dynamodb and self.physical_ids and self.model is not None:
            self._state().save(self._resources("AWS::DynamoDB::Table"), self._resources("AWS::SQS::Queue"))

    def _restore_state(self) -> bool:
        if not self.persist_dynamodb or self.model is None:
            return False
        return self._state().restore(
            self._resources("AWS::DynamoDB::Table"), self._resources("AWS::SQS::Queue")
        )

    # -- stop ------------------------------------------------------------------------------------
    def _stop_matcher(self) -> None:
        if self.matcher is not None:
            self.matcher.stop()

    def _stop_event_sources(self) -> None:
        if self.schedules is not None:
            self.schedules.stop()
        for poller in self._pollers:
            poller.stop()
        for poller in self._pollers:
            poller.join()

    def _stop_servers(self) -> None:
        for server in reversed(self._servers):
            with contextlib.suppress(Exception):
                server.stop()
