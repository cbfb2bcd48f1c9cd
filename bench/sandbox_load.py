"""Sandbox sendMessage throughput with 200 long-polls open, against a minimal aiohttp handler.

Both servers run in their own process on loopback and get the same load from this process:
200 getUpdates long-polls held open (each on its own bot token, since Telegram ends a bot's
pending getUpdates when another arrives) while CONCURRENCY clients call sendMessage as fast as
they can. The baseline answers the same calls with a fixed JSON body and holds its long-polls
with a sleep. Rounds alternate baseline/sandbox and the best of each counts. Goal: ratio ≥ 0.5.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

TOKEN = "123456789:sandbox-token"
POLLS = 200
CONCURRENCY = 32
SECONDS = 4.0
ROUNDS = 2
CHAT_ID = 1001


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _exit_on_term() -> None:
    # Ended by the bench: leave at once, whatever long-polls are still held.
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))


def _serve_baseline(port: int) -> None:
    """The baseline: one aiohttp handler for every /bot{token}/{method}."""
    _exit_on_term()

    async def handler(request: web.Request) -> web.Response:
        body: dict[str, Any] = await request.json() if request.body_exists else {}
        if request.match_info["method"] == "getUpdates":
            await asyncio.sleep(float(body.get("timeout", 0)))
            return web.json_response({"ok": True, "result": []})
        message = {
            "message_id": 1,
            "from": {"id": 123456789, "is_bot": True, "first_name": "Bot"},
            "chat": {"id": body.get("chat_id"), "type": "private"},
            "date": int(time.time()),
            "text": body.get("text"),
        }
        return web.json_response({"ok": True, "result": message})

    async def serve() -> None:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", handler)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        await asyncio.Event().wait()

    asyncio.run(serve())


def _serve_sandbox(port: int) -> None:
    """The sandbox as `python -m sandbox` runs it (SIGTERM ends it cleanly, temp dir removed)."""
    import io

    from sandbox.__main__ import main as sandbox_main

    sys.stdout = io.StringIO()  # its banner is not part of the numbers
    sandbox_main(["--port", str(port), "--token", TOKEN])


def _cpu_seconds(pid: int) -> float:
    """User+system CPU time a process has used (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _wait_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {port}")


async def _prepare_sandbox(session: aiohttp.ClientSession, base: str) -> list[str]:
    """A chat to send to and POLLS bot tokens to hold long-polls on."""
    api = f"{base}/sandbox/api"
    async with session.post(
        f"{api}/chats", json={"id": CHAT_ID, "type": "private", "user": {"id": CHAT_ID}}
    ) as response:
        response.raise_for_status()
    # What is measured is the server, not flood control: Telegram's limits (on by default)
    # would answer all but a few of these sends to one chat with 429.
    async with session.post(f"{api}/limits", json={"enabled": False}) as response:
        response.raise_for_status()
    tokens = []
    for index in range(POLLS):
        token = f"{700000 + index}:bench-poller-{index}"
        async with session.post(f"{api}/bots", json={"token": token}) as response:
            response.raise_for_status()
        tokens.append(token)
    return tokens


@dataclass
class Sample:
    """One measurement window."""

    rate: float  # sendMessage calls/s (wall clock)
    per_cpu: float  # sendMessage calls per second of the server's own CPU time
    open_polls: int


async def _measure(base: str, sandbox: bool, pid: int) -> Sample:
    """sendMessage calls/s with POLLS long-polls open, and how many polls were still open."""
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=None)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        tokens = (
            await _prepare_sandbox(session, base)
            if sandbox
            else [f"{700000 + i}:x" for i in range(POLLS)]
        )

        async def poll(token: str) -> None:
            async with session.post(f"{base}/bot{token}/getUpdates", json={"timeout": 50}) as r:
                await r.read()

        polls = [asyncio.create_task(poll(token)) for token in tokens]
        await asyncio.sleep(1.0)  # let every long-poll reach the server
        url = f"{base}/bot{TOKEN}/sendMessage"
        count = 0
        stop = time.monotonic() + SECONDS

        async def worker(index: int) -> None:
            nonlocal count
            payload = {"chat_id": CHAT_ID, "text": f"Pedido P-{index} ▰▱▱ 33%"}
            while time.monotonic() < stop:
                async with session.post(url, json=payload) as response:
                    data = await response.json()
                if not data.get("ok"):
                    raise RuntimeError(f"sendMessage failed: {data}")
                count += 1

        cpu_before = _cpu_seconds(pid)
        started = time.monotonic()
        await asyncio.gather(*(worker(i) for i in range(CONCURRENCY)))
        elapsed = time.monotonic() - started
        cpu = _cpu_seconds(pid) - cpu_before
        still_open = sum(1 for task in polls if not task.done())
        for task in polls:
            task.cancel()
        await asyncio.gather(*polls, return_exceptions=True)
        return Sample(count / elapsed, count / max(cpu, 1e-6), still_open)


def _run(target: Any, sandbox: bool) -> Sample:
    port = _free_port()
    context = multiprocessing.get_context("spawn")
    process = context.Process(target=target, args=(port,), daemon=True)
    process.start()
    try:
        _wait_port(port)
        assert process.pid is not None
        return asyncio.run(_measure(f"http://127.0.0.1:{port}", sandbox, process.pid))
    finally:
        process.terminate()
        process.join(10)


def main() -> None:
    """Print sendMessage calls/s for both servers and the ratio."""
    started = time.monotonic()
    samples: dict[str, list[Sample]] = {"baseline": [], "sandbox": []}
    for round_number in range(1, ROUNDS + 1):
        for name, target in (("baseline", _serve_baseline), ("sandbox", _serve_sandbox)):
            sample = _run(target, sandbox=name == "sandbox")
            samples[name].append(sample)
            print(
                f"round {round_number} {name:8}: {sample.rate:7.0f} sendMessage/s, "
                f"{sample.per_cpu:7.0f} per server CPU-second ({sample.open_polls} polls open)"
            )
    base_rate = max(s.rate for s in samples["baseline"])
    sand_rate = max(s.rate for s in samples["sandbox"])
    base_cpu = max(s.per_cpu for s in samples["baseline"])
    sand_cpu = max(s.per_cpu for s in samples["sandbox"])
    # The load generator shares the machine, so wall-clock rates can be client-bound; calls per
    # second of the server's own CPU time say what each server costs per call.
    ratio, cpu_ratio = sand_rate / base_rate, sand_cpu / base_cpu
    verdict = "ok" if min(ratio, cpu_ratio) >= 0.5 else "BELOW GOAL"
    print(
        f"sandbox vs minimal aiohttp handler, {POLLS} long-polls open: "
        f"throughput {sand_rate:.0f}/{base_rate:.0f} = ratio {ratio:.2f}; "
        f"per server CPU-second {sand_cpu:.0f}/{base_cpu:.0f} = ratio {cpu_ratio:.2f} "
        f"(goal >= 0.5: {verdict}); {time.monotonic() - started:.0f} s"
    )


if __name__ == "__main__":
    main()
