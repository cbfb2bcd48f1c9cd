"""The deployment files run what the tests run: docker-compose.yml, the Procfile (`make run`)
and the Dockerfile start each process with the command tests/support/system.py uses, and every
install path (Makefile, Dockerfile) installs uv.lock and nothing else."""

from __future__ import annotations

import ast
import re
import shlex
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from pydantic import SecretStr

import celeryconfig
from core.settings import Settings
from core.settings_worker import WorkerSettings
from tests.support.lock import drift, installed_packages, locked_packages, read_lock
from tests.support.system import (
    BEAT_COMMAND,
    BOT_COMMAND,
    BULK_WORKER_COMMAND,
    FLOWER_COMMAND,
    WORKER_COMMAND,
)

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = {
    "bot": BOT_COMMAND,
    "worker": WORKER_COMMAND,
    "worker_bulk": BULK_WORKER_COMMAND,
    "beat": BEAT_COMMAND,
    "flower": FLOWER_COMMAND,
}
# Options that only say where a process listens; everything else must match exactly.
PLACEMENT = ("--address=", "--port=")


def without_placement(argv: list[str]) -> tuple[str, ...]:
    return tuple(arg for arg in argv if not arg.startswith(PLACEMENT))


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def procfile() -> dict[str, list[str]]:
    """name → argv, with the `scripts.wait_for … --` prefix taken off."""
    entries: dict[str, list[str]] = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, _, command = line.partition(":")
        argv = shlex.split(command)
        while argv and re.match(r"^[A-Z_]+=", argv[0]):  # a variable for that process only
            argv.pop(0)
        if argv[:3] == ["python", "-m", "scripts.wait_for"]:
            argv = argv[argv.index("--") + 1 :]
        entries[name.strip()] = argv
    return entries


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "")
        for line in lines
        if line and not line.startswith("#")
    ]


@pytest.mark.parametrize("service", sorted(COMMANDS))
def test_compose_runs_each_service_with_the_command_the_tests_run(
    compose: dict[str, Any], service: str
) -> None:
    command = compose["services"][service]["command"]
    assert without_placement(command) == COMMANDS[service]


@pytest.mark.parametrize("service", sorted(COMMANDS))
def test_the_procfile_runs_each_process_with_the_command_the_tests_run(
    procfile: dict[str, list[str]], service: str
) -> None:
    assert without_placement(procfile[service]) == COMMANDS[service]


def test_make_run_starts_every_procfile_process() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^run:.*\n(?:\t.*\n)*?\t@?\$\(PY\) -m scripts\.run$", makefile, re.M)
    run = (ROOT / "scripts" / "run.py").read_text()
    assert 'os.execvpe(honcho, [honcho, "start", "-f", "Procfile"' in run
    started = re.search(r"processes = (\[.*?\])", run)
    assert started and set(COMMANDS) <= set(ast.literal_eval(started.group(1)))


def test_every_service_restarts_and_has_a_healthcheck(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        if name == "migrate":  # one-shot: it runs to the end once per `up`
            assert service["restart"] == "no"
            continue
        assert service.get("restart") in ("unless-stopped", "always"), name
        assert service.get("healthcheck", {}).get("test"), name
    assert compose["services"]["bot"]["healthcheck"]["test"] == [
        "CMD",
        "python",
        "-m",
        "bot.health",
    ]
    worker_check = " ".join(compose["services"]["worker"]["healthcheck"]["test"])
    assert "celery -A tasks inspect ping" in worker_check
    # Beat's last tick (tests/e2e/test_beat.py), not a Redis ping.
    assert compose["services"]["beat"]["healthcheck"]["test"] == [
        "CMD",
        "python",
        "-m",
        "tasks.beat",
    ]


def test_workers_scale_out(compose: dict[str, Any]) -> None:
    worker = compose["services"]["worker"]
    # `--scale worker=N` needs no fixed name and no host port.
    assert "container_name" not in worker and "ports" not in worker
    assert "--queues=orders,images,telegram,watcher,reports" in worker["command"]
    # Imports and what they start on a worker of their own, under nice: every queue is
    # consumed by exactly one of the two.
    bulk = compose["services"]["worker_bulk"]
    assert "--queues=imports,bulk" in bulk["command"] and bulk["command"][:3] == [
        "nice",
        "-n",
        "10",
    ]
    consumed = [
        queue
        for service in (worker, bulk)
        for arg in service["command"]
        if arg.startswith("--queues=")
        for queue in arg.removeprefix("--queues=").split(",")
    ]
    assert sorted(consumed) == sorted(celeryconfig.QUEUES)


def test_redis_persists_has_a_password_and_is_internal_only(compose: dict[str, Any]) -> None:
    redis = compose["services"]["redis"]
    command = " ".join(redis["command"])
    assert "--appendonly yes" in command and "--appendfsync everysec" in command
    assert "--maxmemory-policy noeviction" in command and "--requirepass" in command
    assert "ports" not in redis
    assert redis["networks"] == ["internal"]
    assert compose["networks"]["internal"]["internal"] is True
    assert "redis-data:/data" in redis["volumes"]
    for name in COMMANDS:
        service = compose["services"][name]
        assert service["environment"]["REDIS_URL"].startswith("redis://:${REDIS_PASSWORD"), name
        assert "internal" in service["networks"], name


def test_redis_has_a_memory_cap_and_refuses_writes_past_it(compose: dict[str, Any]) -> None:
    procfile = next(
        line for line in (ROOT / "Procfile").read_text().splitlines() if line.startswith("redis:")
    )
    composed = " ".join(compose["services"]["redis"]["command"])
    for command in (procfile, composed):
        assert "--maxmemory " in command and "--maxmemory-policy noeviction" in command
    assert compose["services"]["redis"]["environment"]["REDIS_MAXMEMORY"].endswith(":-256mb}")


# Each secret's variable (every SecretStr setting, and the URLs and password that carry one).
SECRETS = {
    name.upper() for name, spec in Settings.model_fields.items() if spec.annotation is SecretStr
} | {"DATABASE_URL", "REDIS_URL", "POSTGRES_PASSWORD"}
REDIS_SECRETS = {"REDIS_URL", "REDIS_PASSWORD", "REDIS_SENTINEL_PASSWORD"}
# Who uses which: the allow-list docker-compose.yml must keep to, no more, no less.
NEEDS = {
    "bot": {
        "TELEGRAM_BOT_TOKEN",
        "DATABASE_URL",
        "WEBHOOK_SECRET",
        "PAYMENT_PROVIDER_TOKEN",
        *REDIS_SECRETS,
    },
    "worker": {
        "TELEGRAM_BOT_TOKEN",
        "DATABASE_URL",
        "PAYMENT_API_TOKEN",
        "SMTP_URL",
        *REDIS_SECRETS,
    },
    "worker_bulk": {
        "TELEGRAM_BOT_TOKEN",
        "DATABASE_URL",
        "PAYMENT_API_TOKEN",
        *REDIS_SECRETS,
    },
    "beat": {"DATABASE_URL", *REDIS_SECRETS},
    "flower": {"FLOWER_BASIC_AUTH", *REDIS_SECRETS},
    "migrate": {"DATABASE_URL"},
    "postgres": {"POSTGRES_PASSWORD"},
    "redis": {"REDIS_PASSWORD"},
    "redis-replica": {"REDIS_PASSWORD"},
    "sentinel-1": {"REDIS_PASSWORD", "REDIS_SENTINEL_PASSWORD"},
    "sentinel-2": {"REDIS_PASSWORD", "REDIS_SENTINEL_PASSWORD"},
    "sentinel-3": {"REDIS_PASSWORD", "REDIS_SENTINEL_PASSWORD"},
    "prometheus": set(),
}
_REFERENCE = re.compile(r"\$\{(\w+)")


def secrets_given(service: dict[str, Any]) -> set[str]:
    """The secrets a service's environment holds: by name, or inside a value built from one
    (REDISCLI_AUTH: ${REDIS_PASSWORD}), and whatever an env_file would bring (all of them)."""
    if "env_file" in service:
        return set(SECRETS)
    given = set()
    for name, value in (service.get("environment") or {}).items():
        if value in ("", None):
            continue
        if name in SECRETS:
            given.add(name)
        given |= set(_REFERENCE.findall(str(value))) & SECRETS
    # DATABASE_URL and REDIS_URL are built from the passwords they carry.
    given -= {"POSTGRES_PASSWORD"} if "DATABASE_URL" in given else set()
    return given


def test_each_service_gets_only_the_secrets_it_needs(compose: dict[str, Any]) -> None:
    """An allow-list: no env_file (it would hand a service all of .env), and each service's
    `environment` names exactly the secrets it uses."""
    assert set(compose["services"]) == set(NEEDS)
    given = {name: secrets_given(service) for name, service in compose["services"].items()}
    assert given == NEEDS


def test_the_allow_list_test_sees_a_secret_given_too_many() -> None:
    beat = {"environment": {"DATABASE_URL": "x", "REDIS_URL": "y", "SMTP_URL": "${SMTP_URL:-}"}}
    assert "SMTP_URL" in secrets_given(beat)
    flower = {"environment": {"AUTH": "${PAYMENT_PROVIDER_TOKEN}"}}
    assert secrets_given(flower) == {"PAYMENT_PROVIDER_TOKEN"}
    assert secrets_given({"env_file": ".env", "environment": {}}) == SECRETS
    assert secrets_given({"environment": {"TELEGRAM_BOT_TOKEN": ""}}) == set()


def test_every_setting_reaches_the_app_services(compose: dict[str, Any]) -> None:
    """With no env_file a setting reaches a container only if compose names it: every setting
    is named for the app services (secrets only where NEEDS says), from .env's own variable."""
    app = {name: compose["services"][name]["environment"] for name in COMMANDS}
    settings = {name.upper() for name in Settings.model_fields}
    # Where the image keeps its data and how its processes listen: fixed for the containers.
    fixed = {
        "MEDIA_DIR",
        "BACKUP_DIR",
        "METRICS_LISTEN",
        "WEBHOOK_LISTEN",
        "HEALTH_PORT",
        "WORKER_METRICS_PORT",
        "BEAT_METRICS_PORT",
        "REDIS_URL",
        "DATABASE_URL",
    }
    for name in sorted(settings - SECRETS - fixed):
        given = [service for service, environment in app.items() if name in environment]
        # Payments' methods go to the bot alone, with the token they require; the worker's
        # memory settings to the worker.
        expected = sorted(COMMANDS)
        if name == "PAYMENT_METHODS":
            expected = ["bot"]
        elif name.lower() in WorkerSettings.model_fields:
            expected = ["worker"]
        assert sorted(given) == expected, name
        for service in given:
            assert app[service][name].startswith(f"${{{name}:-"), (service, name)
    for name in sorted(fixed):
        assert any(name in environment for environment in app.values()), name


def test_the_sentinel_profile_is_a_replica_and_three_sentinels(compose: dict[str, Any]) -> None:
    """Only with `--profile sentinel`; tests/containers/test_sentinel.py fails the master over."""
    services = compose["services"]
    profiled = {name for name, s in services.items() if "sentinel" in s.get("profiles", [])}
    assert profiled == {"redis-replica", "sentinel-1", "sentinel-2", "sentinel-3"}
    # The master (the plain `redis`) can follow a promoted replica: it has its password.
    master = " ".join(services["redis"]["command"])
    assert '--masterauth "$$REDIS_PASSWORD"' in master
    replica = " ".join(services["redis-replica"]["command"])
    assert "--replicaof redis 6379" in replica and '--masterauth "$$REDIS_PASSWORD"' in replica
    assert "--appendonly yes" in replica and "--maxmemory-policy noeviction" in replica
    for name in ("sentinel-1", "sentinel-2", "sentinel-3"):
        sentinel = services[name]
        script = sentinel["command"][-1]
        assert "sentinel monitor $$MASTER_NAME redis 6379 2" in script, name
        assert "requirepass $$REDIS_SENTINEL_PASSWORD" in script, name
        assert script.endswith("exec redis-server /data/sentinel.conf --sentinel"), name
        assert sentinel["environment"]["DOWN_AFTER"] == "${SENTINEL_DOWN_AFTER:-5000}"
        assert sentinel["networks"] == ["internal"] and "ports" not in sentinel
    # Every Redis node and Sentinel gives up on a vanished name within a second.
    for name in ("redis", "redis-replica", "sentinel-1", "sentinel-2", "sentinel-3"):
        assert services[name]["dns_opt"] == ["timeout:1", "attempts:1"], name
    # The app finds them through the settings .env gives it.
    for name in COMMANDS:
        environment = services[name]["environment"]
        assert environment["REDIS_SENTINELS"] == "${REDIS_SENTINELS:-}", name


def test_the_worker_has_a_memory_limit_and_one_decode_at_a_time(compose: dict[str, Any]) -> None:
    worker = compose["services"]["worker"]
    assert worker["mem_limit"] == "${WORKER_MEMORY_LIMIT:-1g}"
    environment = worker["environment"]
    assert environment["IMAGE_DECODE_SLOTS"] == "${IMAGE_DECODE_SLOTS:-1}"
    assert environment["WORKER_CONCURRENCY"] == "${WORKER_CONCURRENCY:-2}"
    config = celeryconfig.build(Settings(worker_max_memory_per_child=300 * 1024**2))
    assert config["worker_max_memory_per_child"] == 300 * 1024  # Celery counts KiB
    assert "worker_concurrency" not in celeryconfig.build(Settings())


def test_media_backups_and_the_databases_are_volumes(compose: dict[str, Any]) -> None:
    assert set(compose["volumes"]) == {
        "redis-data",
        "redis-replica-data",
        "postgres-data",
        "media",
        "backups",
        "prometheus-data",
    }
    for name in ("worker", "bot"):
        assert "media:/data/media" in compose["services"][name]["volumes"]
    # The worker runs backup_base_datos: its copies outlive the container.
    worker = compose["services"]["worker"]
    assert "backups:/data/backups" in worker["volumes"]
    assert worker["environment"]["BACKUP_DIR"] == "/data/backups"
    postgres = compose["services"]["postgres"]
    assert "postgres-data:/var/lib/postgresql/data" in postgres["volumes"]


def test_postgres_is_internal_has_a_password_and_is_migrated_first(
    compose: dict[str, Any],
) -> None:
    postgres = compose["services"]["postgres"]
    assert postgres["image"] == "postgres:15-bookworm"
    assert "ports" not in postgres and postgres["networks"] == ["internal"]
    assert postgres["environment"]["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD:?")
    assert "env_file" not in postgres  # its own password only, none of the app's secrets
    assert postgres["healthcheck"]["test"][:2] == ["CMD", "pg_isready"]
    migrate = compose["services"]["migrate"]
    assert migrate["command"][:3] == ["python", "-m", "scripts.migrate"]
    assert migrate["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    for name in ("migrate", "bot", "worker", "beat"):
        service = compose["services"][name]
        url = service["environment"]["DATABASE_URL"]
        assert url.startswith("postgresql+psycopg://pedidos:${POSTGRES_PASSWORD:?"), name
        assert url.endswith("@postgres:5432/pedidos"), name
        assert "internal" in service["networks"], name
    for name in COMMANDS:
        depends = compose["services"][name]["depends_on"]
        assert depends["migrate"] == {"condition": "service_completed_successfully"}, name
    # Flower only shows tasks: no database, so no database password.
    assert "DATABASE_URL" not in compose["services"]["flower"]["environment"]


def test_flower_has_basic_auth_from_settings_and_events_are_on(compose: dict[str, Any]) -> None:
    flower = compose["services"]["flower"]
    assert flower["environment"]["FLOWER_BASIC_AUTH"].startswith("${FLOWER_BASIC_AUTH:?")
    # Published on the host's loopback only.
    assert all(port.startswith("127.0.0.1:") for port in flower["ports"])
    # Reached over Redis's internal network and a network of its own, not `egress`: no other
    # service shares a network with it but `internal`, and that one has no way out.
    assert set(flower["networks"]) == {"internal", "flower-port"}
    others = {name for name, service in compose["services"].items() if name != "flower"}
    assert all("flower-port" not in compose["services"][n].get("networks", []) for n in others)
    assert compose["networks"]["internal"]["internal"] is True
    config = celeryconfig.build(Settings())
    assert config["worker_send_task_events"] is True
    assert config["task_send_sent_event"] is True


def test_dockerfile_is_multi_stage_non_root_unbuffered_and_installs_the_lock() -> None:
    instructions = dockerfile_instructions()
    stages = [args for op, args in instructions if op == "FROM"]
    assert len(stages) >= 2
    final = instructions[max(i for i, (op, _) in enumerate(instructions) if op == "FROM") :]
    users = [args for op, args in final if op == "USER"]
    assert users and users[-1] not in ("root", "0")
    envs = " ".join(args for op, args in final if op == "ENV")
    assert "PYTHONUNBUFFERED=1" in envs
    cmd = [args for op, args in final if op == "CMD"][-1]
    assert tuple(yaml.safe_load(cmd)) == BOT_COMMAND
    copied = " ".join(args for op, args in final if op == "COPY")
    for needed in ("core", "bot", "tasks", "migrations", "celeryconfig.py", "flowerconfig.py"):
        assert needed in copied, needed
    # The code belongs to root: the user running it cannot change it.
    code = [args for op, args in final if op == "COPY" and "--from=" not in args]
    assert code and not any("--chown" in args for args in code), code


def pyproject() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_the_venv_is_exactly_the_lock() -> None:
    """`uv sync --locked` made this venv; anything else installed by hand, or a newer release
    that slipped in, shows here (both directions: missing, extra, other version)."""
    locked = locked_packages(read_lock(ROOT / "uv.lock"), "pedidos-bot")
    assert drift(locked, installed_packages()) == drift({}, {})


def test_drift_is_seen_in_both_directions() -> None:
    locked = {"certifi": "2026.10.18", "redis": "8.1.0", "pillow": "13.0.0"}
    installed = {"certifi": "2026.10.19.post1", "redis": "8.1.0", "six": "1.17.0"}
    found = drift(locked, installed)
    assert found
    assert found.missing == {"pillow": "13.0.0"}
    assert found.extra == {"six": "1.17.0"}
    assert found.changed == {"certifi": ("2026.10.18", "2026.10.19.post1")}
    assert not drift(locked, dict(locked))


def test_the_lock_walk_follows_extras_markers_and_groups() -> None:
    lock = {
        "package": [
            {
                "name": "app",
                "version": "1",
                "dependencies": [
                    {"name": "lib", "extra": ["fast"]},
                    {"name": "win-only", "marker": "sys_platform == 'win32'"},
                ],
                "dev-dependencies": {"dev": [{"name": "tool"}]},
            },
            {
                "name": "lib",
                "version": "2",
                "optional-dependencies": {"fast": [{"name": "speedup"}]},
            },
            {"name": "speedup", "version": "3"},
            {"name": "win-only", "version": "4"},
            {"name": "tool", "version": "5"},
            {"name": "unused", "version": "6"},
        ]
    }
    expected = {"app": "1", "lib": "2", "speedup": "3", "tool": "5"}
    if sys.platform == "win32":
        expected["win-only"] = "4"
    assert locked_packages(lock, "app") == expected
    assert "tool" not in locked_packages(lock, "app", groups=())


def test_pyprojects_pins_are_what_the_lock_holds() -> None:
    locked = locked_packages(read_lock(ROOT / "uv.lock"), "pedidos-bot")
    specs = [*pyproject()["project"]["dependencies"], *pyproject()["dependency-groups"]["dev"]]
    for spec in specs:
        requirement = Requirement(spec)
        name = canonicalize_name(requirement.name)
        assert name in locked, spec
        assert locked[name] in requirement.specifier, (spec, locked[name])


def test_every_install_path_installs_from_the_lock_with_one_uv() -> None:
    required = pyproject()["tool"]["uv"]["required-version"]
    assert required.startswith("==")
    makefile = (ROOT / "Makefile").read_text()
    assert "uv sync --locked" in makefile.replace("$(UV)", "uv")
    # pip installs uv itself and nothing else.
    pip_lines = [line for line in makefile.splitlines() if "pip install" in line]
    assert pip_lines and all(line.endswith("'uv==$(UV_VERSION)'") for line in pip_lines)
    runs = " ".join(args for op, args in dockerfile_instructions() if op == "RUN")
    assert "uv sync --locked" in runs
    assert "required-version" in runs  # the image takes uv's version from pyproject.toml
    assert "requirements" not in runs
