"""The project's image and compose stack driven through Podman, as a user drives Docker."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from core.settings import Settings
from sandbox.server import free_port
from tests.support.processes import wait_until

ROOT = Path(__file__).resolve().parents[2]
IMAGE = "pedidos-bot:latest"
BASE_IMAGE = "python:3.11-slim"
OVERRIDE = "tests/containers/compose.sandbox.yml"
# The settings file the override names (relative to the repository, like the compose files).
ENV_FILE = "var/containers/test.env"
SANDBOX_TOKEN = "123456789:sandbox-token"
# Where the base image keeps its CA bundle; the host's is mounted there while building.
IMAGE_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
SERVICES = ("redis", "postgres", "sandbox", "bot", "worker", "beat", "flower")
# Runs once and exits (the schema), before the app services start.
ONE_SHOT = ("migrate",)
# What they need first: Telegram, Redis, and the database migrated.
FIRST = ("redis", "postgres", "sandbox", "migrate")
APP = ("bot", "worker", "beat", "flower")
# `--profile sentinel`: the replica and the three Sentinels, up with what the app needs first.
SENTINEL = ("redis-replica", "sentinel-1", "sentinel-2", "sentinel-3")
PROFILES = {"sentinel": SENTINEL}
# Every setting's name: the host's value of one would fill in compose's `${…}` in place of
# test.env's (as in Docker Compose), so none reaches podman-compose from the test's own shell.
SETTING_NAMES = frozenset(name.upper() for name in Settings.model_fields)


def run(
    *args: str, timeout: float = 120, check: bool = True, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a command in the repository; its output is kept for the assertion that follows."""
    done = subprocess.run(
        args, cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False, env=env
    )
    if check and done.returncode != 0:
        raise AssertionError(
            f"{' '.join(args)} exited {done.returncode}\n{done.stdout[-4000:]}\n"
            f"{done.stderr[-4000:]}"
        )
    return done


def host_ca_bundle() -> str | None:
    """The CA bundle this machine trusts (a TLS-intercepting proxy's CA included), if any."""
    for name in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "PIP_CERT"):
        path = os.environ.get(name)
        if path and Path(path).is_file():
            return path
    default = Path("/etc/ssl/certs/ca-certificates.crt")
    return str(default) if default.is_file() else None


def build_command(no_cache: bool = False) -> list[str]:
    """`podman build` of the Dockerfile with the host's network and CA bundle."""
    command = ["podman", "build", "--network", "host"]
    bundle = host_ca_bundle()
    if bundle:
        command += ["-v", f"{bundle}:{IMAGE_CA_BUNDLE}:ro"]
    if no_cache:
        command.append("--no-cache")
    return [*command, "-t", IMAGE, "."]


def build_image(no_cache: bool = False) -> float:
    """Build the image; the seconds it took."""
    started = time.monotonic()
    run(*build_command(no_cache), timeout=900)
    return time.monotonic() - started


def image_size(name: str) -> int:
    return int(run("podman", "image", "inspect", "--format", "{{.Size}}", name).stdout)


@dataclass
class Stack:
    """docker-compose.yml plus the sandbox override, up under one compose project."""

    project: str
    redis_password: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    postgres_password: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    flower_auth: str = field(default_factory=lambda: f"admin:{secrets.token_urlsafe(12)}")
    flower_port: int = field(default_factory=free_port)
    sandbox_port: int = field(default_factory=free_port)
    # Compose profiles to run too, and settings over .env.example's (and the ones below).
    profiles: tuple[str, ...] = ()
    settings: dict[str, str] = field(default_factory=dict)

    @property
    def services(self) -> tuple[str, ...]:
        """The long-running services of this stack, its profiles' included."""
        extra = tuple(name for profile in self.profiles for name in PROFILES[profile])
        return (*SERVICES, *extra)

    @property
    def sandbox_url(self) -> str:
        return f"http://127.0.0.1:{self.sandbox_port}"

    @property
    def flower_url(self) -> str:
        return f"http://127.0.0.1:{self.flower_port}"

    def write_env_file(self) -> None:
        """.env as a user makes it: .env.example with the secrets filled in, plus the sandbox."""
        settings = {
            "TELEGRAM_BOT_TOKEN": SANDBOX_TOKEN,
            "TELEGRAM_API_URL": "http://sandbox:8081",
            "REDIS_PASSWORD": self.redis_password,
            "POSTGRES_PASSWORD": self.postgres_password,
            "FLOWER_BASIC_AUTH": self.flower_auth,
            "PUBLISHED_FLOWER_PORT": str(self.flower_port),
            "SANDBOX_PORT": str(self.sandbox_port),
            # Orders last long enough (three steps of 3 s) for a worker to be killed mid-way.
            # Everything else keeps .env.example's values, recovery's among them.
            "STEP_SECONDS": "3",
            **self.settings,
        }
        lines = []
        for line in (ROOT / ".env.example").read_text().splitlines():
            name = line.split("=", 1)[0]
            lines.append(f"{name}={settings.pop(name)}" if name in settings else line)
        lines += [f"{name}={value}" for name, value in settings.items()]
        path = ROOT / ENV_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines) + "\n")

    def compose_command(self, *args: str) -> list[str]:
        compose = str(Path(sys.executable).with_name("podman-compose"))
        return [
            compose,
            "-p",
            self.project,
            "--env-file",
            ENV_FILE,
            "-f",
            "docker-compose.yml",
            "-f",
            OVERRIDE,
            *(f"--profile={profile}" for profile in self.profiles),
            *args,
        ]

    def compose(self, *args: str, timeout: float = 180, check: bool = True) -> str:
        env = {k: v for k, v in os.environ.items() if k not in SETTING_NAMES}
        return run(*self.compose_command(*args), timeout=timeout, check=check, env=env).stdout

    def up(self, *args: str, services: tuple[str, ...] = APP) -> str:
        """`up -d` of `services` with --no-deps: podman-compose makes each depends_on a
        `--requires`, and Podman 4.3 then neither starts (on `start`, "not found in input
        list") nor restarts (restart: unless-stopped) a container that requires the exited
        migrate. So the order compose would keep is kept here: first what the app needs, then
        the app once migrate succeeded."""
        return self.compose("up", "-d", "--no-build", "--no-deps", *args, *services)

    def up_in_order(self) -> None:
        self.up(services=FIRST)
        if self.profiles:
            # The replica and the Sentinels name the master: up once it answers.
            self.wait_healthy(self.containers("redis"), timeout=60)
            self.up(services=self.services[len(SERVICES) :])
        (migrate,) = self.containers("migrate", running_only=False)
        # `podman wait`: the exit status once it has stopped (it waits for PostgreSQL itself).
        status = run("podman", "wait", migrate, timeout=180).stdout.strip()
        assert status == "0", self.logs()
        self.up()

    def containers(self, service: str, running_only: bool = True) -> list[str]:
        """Names of the service's containers, oldest first."""
        args = [
            "podman",
            "ps",
            "--format",
            "json",
            "--filter",
            f"label=io.podman.compose.project={self.project}",
            "--filter",
            f"label=com.docker.compose.service={service}",
        ]
        if not running_only:
            args.insert(2, "--all")
        found = json.loads(run(*args).stdout or "[]")
        return [c["Names"][0] for c in sorted(found, key=lambda c: c["Created"])]

    def container(self, service: str) -> str:
        names = self.containers(service)
        assert len(names) == 1, (service, names)
        return names[0]

    def inspect(self, name: str, template: str) -> str:
        return run("podman", "inspect", "--format", template, name).stdout.strip()

    def exec(self, name: str, *command: str, timeout: float = 60) -> str:
        return run("podman", "exec", name, *command, timeout=timeout).stdout

    def healthy(self, name: str) -> bool:
        """Run the container's own healthcheck now, as Docker's scheduler would; no systemd
        here to run Podman's timers."""
        return run("podman", "healthcheck", "run", name, timeout=60, check=False).returncode == 0

    def wait_healthy(self, names: list[str], timeout: float = 180) -> float:
        """Seconds until every one of the containers passed its healthcheck."""
        started = time.monotonic()
        waiting = list(names)

        def all_healthy() -> bool:
            waiting[:] = [name for name in waiting if not self.healthy(name)]
            return not waiting

        try:
            wait_until(all_healthy, timeout, "every healthcheck to pass", every=1.0)
        except TimeoutError:
            raise AssertionError(
                f"not healthy after {timeout}s: {waiting}\n{self.logs()}"
            ) from None
        return time.monotonic() - started

    def sql(self, query: str) -> list[str]:
        """The rows of `query` in the stack's database (psql in the postgres container, as
        an operator would run it), one line each, columns separated by |."""
        out = self.exec(
            self.container("postgres"),
            "psql",
            "--username=pedidos",
            "--dbname=pedidos",
            "--no-align",
            "--tuples-only",
            "--set=ON_ERROR_STOP=1",
            f"--command={query}",
        )
        return out.splitlines()

    def all_containers(self) -> list[str]:
        return [name for service in self.services for name in self.containers(service)]

    def logs_by_service(self, tail: int = 60) -> dict[str, list[tuple[str, str]]]:
        """Each service's containers and the last `tail` lines each wrote."""
        found: dict[str, list[tuple[str, str]]] = {}
        for service in (*ONE_SHOT, *self.services):
            for name in self.containers(service, running_only=False):
                out = run("podman", "logs", "--tail", str(tail), name, check=False)
                found.setdefault(service, []).append((name, out.stdout + out.stderr))
        return found

    def logs(self, tail: int = 60) -> str:
        return logs_text(self.logs_by_service(tail))

    def down(self) -> None:
        """Remove every container of the project, then its volumes and networks.

        podman-compose's `down` removes only the replicas the compose file names (worker_1):
        after `--scale worker=3` the other two would keep the pod, the volumes and the networks.
        """
        project = f"label=io.podman.compose.project={self.project}"
        names = run("podman", "ps", "--all", "--quiet", "--filter", project).stdout.split()
        if names:
            # --volumes: the anonymous ones too (the Redis images' /data, the Sentinels').
            run(
                "podman",
                "rm",
                "--force",
                "--volumes",
                "--time",
                "10",
                *names,
                timeout=300,
                check=False,
            )
        self.compose("down", "-v", "-t", "10", timeout=300, check=False)


def logs_text(by_service: dict[str, list[tuple[str, str]]]) -> str:
    """Stack.logs_by_service as one text, each container's lines under its name."""
    return "\n".join(
        f"--- {name}\n{said}" for containers in by_service.values() for name, said in containers
    )
