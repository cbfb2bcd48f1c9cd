"""The image and docker-compose.yml for real: the stack comes up healthy under Podman (its schema
migrated first), a customer in the sandbox chat gets their order, which is in PostgreSQL, and
killed or restarted containers (a worker, PostgreSQL, Redis) lose and duplicate nothing. The
tests run in this order on one stack; the fault tests come last."""

from __future__ import annotations

import itertools
import os
import re
import signal
from pathlib import Path

import pytest
import requests
from PIL import Image

from bench.image_memory import SIZE as LARGEST
from core.photos.safety import MAX_PIXELS
from sandbox.client import Chat, SandboxClient
from tests.containers.podman import IMAGE, Stack, run
from tests.e2e.test_orders import completed, is_status, order_id_of
from tests.e2e.test_photos import album_of
from tests.support.processes import wait_until

# Setup builds the image twice and brings the stack up: well past the default per-test limit.
pytestmark = pytest.mark.timeout(600)

APP_SERVICES = ("bot", "worker", "beat", "flower", "sandbox")
_users = itertools.count(7001)


def new_chat(sandbox: SandboxClient) -> Chat:
    return sandbox.private_chat(user_id=next(_users), first_name="Ana", language_code="es")


def completions(chat: Chat) -> int:
    return sum(1 for m in chat.bot_messages() if completed(m))


def ping_replies(stack: Stack, worker: str) -> set[str]:
    """The nodes that answer `celery -A tasks inspect ping`, run inside a worker container."""
    out = stack.exec(worker, "celery", "-A", "tasks", "inspect", "ping", "--timeout", "10")
    return set(re.findall(r"->\s+(celery@\S+): OK", out))


def flower_workers(stack: Stack) -> dict[str, dict[str, object]]:
    user, password = stack.flower_auth.split(":", 1)
    answer = requests.get(
        f"{stack.flower_url}/api/workers",
        params={"refresh": "1"},
        auth=(user, password),
        timeout=30,
    )
    answer.raise_for_status()
    workers: dict[str, dict[str, object]] = answer.json()
    return workers


def test_every_service_is_up_and_healthy(stack: Stack) -> None:
    for service in ("redis", "postgres", *APP_SERVICES):
        name = stack.container(service)
        assert stack.inspect(name, "{{.State.Status}}") == "running", name
        assert stack.inspect(name, "{{.State.Health.Status}}") == "healthy", name
        # Podman starts every service at once (it cannot wait for Redis to be healthy), and
        # none of them fell over waiting for it.
        assert stack.inspect(name, "{{.RestartCount}}") == "0", name


def test_image_runs_as_non_root_with_read_only_code(stack: Stack) -> None:
    assert run("podman", "image", "inspect", "--format", "{{.Config.User}}", IMAGE).stdout.strip()
    for service in APP_SERVICES:
        name = stack.container(service)
        assert stack.exec(name, "id", "-u").strip() == "10001", service
    worker = stack.container("worker")
    probe = (
        "import sys\n"
        "for path in sys.argv[1:]:\n"
        "    try:\n"
        "        open(path, 'a').close()\n"
        "        print('writable', path)\n"
        "    except PermissionError:\n"
        "        print('read-only', path)\n"
    )
    out = stack.exec(
        worker,
        "python",
        "-c",
        probe,
        "/app/core/orders/model.py",
        "/app/celeryconfig.py",
        "/app/new-module.py",
        "/venv/bin/celery",
        "/data/media/probe",
    )
    assert out.split("\n")[:-1] == [
        "read-only /app/core/orders/model.py",
        "read-only /app/celeryconfig.py",
        "read-only /app/new-module.py",
        "read-only /venv/bin/celery",
        "writable /data/media/probe",
    ]


def test_an_order_completes_in_the_chat_once(stack: Stack, sandbox: SandboxClient) -> None:
    chat = new_chat(sandbox)
    chat.send("/pedido 2 pizzas margarita")

    done = chat.wait_for(completed, timeout=60)
    status = chat.wait_for(lambda m: is_status(m) and "100%" in (m.text or ""), timeout=10)
    assert order_id_of(status) in (done.text or "")
    steps = [line for text in status.edits for line in text.splitlines() if line.startswith("Paso")]
    assert steps == [
        "Paso 1/3: validando pago",
        "Paso 2/3: preparando envío",
        "Paso 3/3: notificando",
    ]
    assert completions(chat) == 1
    # In the system of record, PostgreSQL, finished.
    order = order_id_of(status)
    assert stack.sql(f"SELECT text, state FROM orders WHERE id = '{order}'") == [
        "2 pizzas margarita|completado"
    ]


def test_the_database_is_postgres_at_the_schema_of_the_image(stack: Stack) -> None:
    revision = stack.sql("SELECT version_num FROM alembic_version")
    head = stack.exec(
        stack.container("worker"),
        "python",
        "-c",
        "from core.db.schema import head_revision; print(head_revision())",
    )
    assert revision == [head.strip()]
    assert stack.exec(stack.container("postgres"), "postgres", "--version").startswith(
        "postgres (PostgreSQL) 15."
    )


def test_the_worker_backs_the_database_up_with_pg_dump(stack: Stack) -> None:
    worker = stack.container("worker")
    assert stack.exec(worker, "pg_dump", "--version").startswith("pg_dump (PostgreSQL) 15.")
    out = stack.exec(worker, "python", "-m", "scripts.backup", timeout=120)
    assert out.startswith("backup /data/backups/"), out
    copy = out.split()[1]
    # In the backups volume, written by the unprivileged user.
    assert stack.exec(worker, "ls", "/data/backups").split() == [copy.rsplit("/", 1)[1]]


def test_a_photo_comes_back_as_three_renditions(
    stack: Stack, sandbox: SandboxClient, photos_dir: Path
) -> None:
    chat = new_chat(sandbox)
    chat.send_photo(photos_dir / "Landscape_1.jpg")
    album = album_of(chat, timeout=60)
    assert [m.media[0].width for m in album] == [150, 800, 1280]
    # Written by the unprivileged worker into the media volume, which the bot shares.
    listing = stack.exec(stack.container("bot"), "ls", "/data/media")
    assert listing.split(), "no rendition in the media volume"


def palette_png(path: Path, size: tuple[int, int]) -> Path:
    """The costliest image to decode at its size (bench.image_memory: a palette PNG with
    transparency, ~505 MB at the cap), yet small to send: one colour compresses well."""
    image = Image.new("P", size, 3)
    image.putpalette([i % 256 for i in range(768)])
    image.save(path, transparency=0)
    return path


def memory_cgroup(stack: Stack, worker: str) -> dict[str, int]:
    """The worker container's memory cgroup (v1, as under this Podman): its peak use and how
    many processes the kernel's OOM killer killed in it."""
    base = "/sys/fs/cgroup/memory"
    oom = stack.exec(worker, "cat", f"{base}/memory.oom_control").split()
    peak = stack.exec(worker, "cat", f"{base}/memory.max_usage_in_bytes")
    # Times usage met the limit (page cache counts, and is reclaimed there first).
    failcnt = stack.exec(worker, "cat", f"{base}/memory.failcnt")
    # Processes' own memory now, page cache left out.
    stat = stack.exec(worker, "cat", f"{base}/memory.stat").split()
    return {
        "oom_kill": int(oom[oom.index("oom_kill") + 1]),
        "peak": int(peak),
        "failcnt": int(failcnt),
        "rss": int(stat[stat.index("total_rss") + 1]),
    }


def test_the_largest_images_allowed_fit_the_workers_memory_limit(
    stack: Stack, sandbox: SandboxClient, tmp_path: Path, numbers: dict[str, float]
) -> None:
    worker = stack.container("worker")
    restarts = int(stack.inspect(worker, "{{.RestartCount}}"))
    limit = int(stack.inspect(worker, "{{.HostConfig.Memory}}"))
    assert limit == 1024**3  # compose's mem_limit default, 1g
    numbers["worker_memory_idle_rss_mb"] = memory_cgroup(stack, worker)["rss"] / 1e6
    largest = palette_png(tmp_path / "grande.png", LARGEST)
    width, height = LARGEST
    assert width * height <= MAX_PIXELS
    # The same width, one row more than the cap allows.
    over = palette_png(tmp_path / "enorme.png", (width, MAX_PIXELS // width + 1))

    # Two customers at once, one per pool process: one decode waits for the other's slot
    # (IMAGE_DECODE_SLOTS=1), so the two never hold ~1 GB between them.
    chats = [new_chat(sandbox) for _ in range(2)]
    for chat in chats:
        chat.send_document(largest, mime_type="image/png", file_name="grande.png")
    refused = new_chat(sandbox)
    refused.send_document(over, mime_type="image/png", file_name="enorme.png")

    for chat in chats:
        album = album_of(chat, timeout=240)
        # 8660×5770 into the renditions' boxes, aspect kept (Telegram shows the large one,
        # 1621×1080, at most 1280 wide).
        assert [(m.media[0].width, m.media[0].height) for m in album] == [
            (150, 100),
            (800, 533),
            (1280, 853),
        ]
        assert "1621×1080" in (album[2].caption or "")
    refused.wait_for(lambda m: "demasiados píxeles" in (m.text or ""), timeout=60)
    assert not any(m.media_group_id for m in refused.bot_messages())

    # Nothing was killed for memory: not the container, not a pool process in it.
    assert stack.inspect(worker, "{{.State.OOMKilled}}") == "false"
    assert int(stack.inspect(worker, "{{.RestartCount}}")) == restarts
    cgroup = memory_cgroup(stack, worker)
    assert cgroup["oom_kill"] == 0
    numbers["worker_memory_peak_mb"] = cgroup["peak"] / 1e6
    numbers["worker_memory_limit_hits"] = cgroup["failcnt"]
    assert cgroup["peak"] < limit


def test_celery_inspect_ping_answers_from_the_worker(stack: Stack) -> None:
    worker = stack.container("worker")
    hostname = stack.exec(worker, "hostname").strip()
    assert ping_replies(stack, worker) == {f"celery@{hostname}"}


def test_flower_api_through_the_published_port(stack: Stack) -> None:
    worker = stack.container("worker")
    hostname = stack.exec(worker, "hostname").strip()
    assert f"celery@{hostname}" in flower_workers(stack)
    refused = requests.get(f"{stack.flower_url}/api/workers", timeout=30)
    assert refused.status_code == 401


def test_worker_killed_mid_order_completes_once_after_restart(
    stack: Stack, sandbox: SandboxClient
) -> None:
    worker = stack.container("worker")
    restarts = int(stack.inspect(worker, "{{.RestartCount}}"))
    chat = new_chat(sandbox)
    chat.send("/pedido 4 bocadillos")
    chat.wait_for(lambda m: is_status(m) and "validando pago" in (m.text or ""), timeout=60)

    # SIGKILL to the container's init from outside, as the OOM killer or a crash would: its
    # processes die with it. (`podman kill` would count as a stop by the user, and a stopped
    # container stays stopped.)
    os.kill(int(stack.inspect(worker, "{{.State.Pid}}")), signal.SIGKILL)
    wait_until(
        lambda: (
            stack.inspect(worker, "{{.State.Status}}") != "running"
            or int(stack.inspect(worker, "{{.RestartCount}}")) > restarts
        ),
        timeout=30,
        what="the worker died",
        every=0.5,
    )
    assert completions(chat) == 0
    # restart: unless-stopped brings the same container back.
    wait_until(
        lambda: (
            int(stack.inspect(worker, "{{.RestartCount}}")) > restarts
            and stack.inspect(worker, "{{.State.Status}}") == "running"
        ),
        timeout=60,
        what="the killed worker restarted",
        every=0.5,
    )
    done = chat.wait_for(completed, timeout=120)
    status = chat.wait_for(lambda m: is_status(m) and "100%" in (m.text or ""), timeout=10)
    assert order_id_of(status) in (done.text or "")
    assert completions(chat) == 1
    stack.wait_healthy([worker], timeout=120)


def test_postgres_killed_mid_order_loses_and_duplicates_nothing(
    stack: Stack, sandbox: SandboxClient
) -> None:
    postgres = stack.container("postgres")
    restarts = int(stack.inspect(postgres, "{{.RestartCount}}"))
    chat = new_chat(sandbox)
    chat.send("/pedido 3 empanadas durante la caída")
    chat.wait_for(lambda m: is_status(m) and "validando pago" in (m.text or ""), timeout=60)

    # The server dies as in a crash (SIGKILL, no shutdown checkpoint); restart: unless-stopped
    # brings it back and it recovers from its WAL in the volume.
    os.kill(int(stack.inspect(postgres, "{{.State.Pid}}")), signal.SIGKILL)
    wait_until(
        lambda: (
            int(stack.inspect(postgres, "{{.RestartCount}}")) > restarts
            and stack.inspect(postgres, "{{.State.Status}}") == "running"
        ),
        timeout=60,
        what="the killed postgres restarted",
        every=0.5,
    )
    stack.wait_healthy([postgres], timeout=120)

    done = chat.wait_for(completed, timeout=120)
    status = chat.wait_for(lambda m: is_status(m) and "100%" in (m.text or ""), timeout=10)
    order = order_id_of(status)
    assert order in (done.text or "")
    chat.send("/estado")
    listing = chat.wait_for(lambda m: "Tus pedidos recientes" in (m.text or ""), timeout=30)
    assert "durante la caída" in (listing.text or "")
    assert completions(chat) == 1
    assert stack.sql(f"SELECT state FROM orders WHERE id = '{order}'") == ["completado"]
    # The orders finished before the crash are still there, and every service is healthy
    # again without a restart of its own.
    (finished,) = stack.sql("SELECT count(*) FROM orders WHERE state = 'completado'")
    assert int(finished) >= 3
    stack.wait_healthy(stack.all_containers(), timeout=180)


def test_redis_restart_loses_nothing_confirmed(stack: Stack, sandbox: SandboxClient) -> None:
    chat = new_chat(sandbox)
    chat.send("/pedido 1 antes del reinicio")
    chat.wait_for(completed, timeout=60)

    stack.compose("stop", "worker")
    chat.send("/pedido 2 durante el reinicio")
    # The bot stored it and queued it in Redis, with no worker to take it yet. Its status
    # reply is best effort (bot.placing): when Telegram refuses it (a 429, a network error)
    # the order's first step sends it, so it is looked for once a worker is back.
    chat_id = chat.chat_id
    wait_until(
        lambda: stack.sql(
            f"SELECT id FROM orders WHERE chat_id = {chat_id} AND text LIKE '%durante%'"
        ),
        timeout=60,
        what="the order placed while no worker runs is stored",
        every=1.0,
    )

    redis = stack.container("redis")
    run("podman", "restart", redis)
    stack.wait_healthy([redis], timeout=60)
    stack.compose("start", "worker")
    wait_until(lambda: completions(chat) == 2, timeout=120, what="both orders completed", every=0.5)

    chat.send("/estado")
    listing = chat.wait_for(lambda m: "Tus pedidos recientes" in (m.text or ""), timeout=30)
    assert "antes del reinicio" in (listing.text or "")
    assert "durante el reinicio" in (listing.text or "")
    assert completions(chat) == 2
    # One status message each: the bot's or, had it failed to send it, the first step's.
    statuses = [m for m in chat.bot_messages() if is_status(m)]
    assert [("antes" in (m.text or ""), "100%" in (m.text or "")) for m in statuses] == [
        (True, True),
        (False, True),
    ]
    # Every service found Redis again by itself.
    stack.wait_healthy(stack.all_containers(), timeout=180)


def test_three_workers_share_the_orders(stack: Stack, sandbox: SandboxClient) -> None:
    stack.up("--scale", "worker=3", services=("worker",))
    workers = stack.containers("worker")
    assert len(workers) == 3
    stack.wait_healthy(workers, timeout=180)
    hostnames = {stack.exec(w, "hostname").strip() for w in workers}
    nodes = {f"celery@{h}" for h in hostnames}
    assert ping_replies(stack, workers[0]) == nodes
    # Flower asks the workers on each refresh and keeps who answered within its 1 s
    # inspect timeout: a worker just started may miss one round.
    wait_until(
        lambda: nodes <= set(flower_workers(stack)), timeout=60, what="Flower lists 3", every=0.5
    )

    chats = [new_chat(sandbox) for _ in range(6)]
    for n, chat in enumerate(chats, start=1):
        chat.send(f"/pedido {n} empanadas")
    for chat in chats:
        chat.wait_for(completed, timeout=120)
    assert [completions(chat) for chat in chats] == [1] * 6
