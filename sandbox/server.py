"""App wiring: the Bot API routes, file downloads, the control API and the web chat page."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import BodyPartReader, web
from aiohttp.web_request import FileField

from sandbox import botapi, control
from sandbox.core import Sandbox
from sandbox.faults import FaultRule, Faults
from sandbox.media import Upload

if TYPE_CHECKING:
    pass

STATIC = Path(__file__).resolve().parent / "static"
TOKEN_SHAPE = re.compile(r"^\d+:[A-Za-z0-9_-]+$")
log = logging.getLogger("sandbox")


def _json_response(body: dict[str, Any], status: int = 200) -> web.Response:
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    return web.Response(text=text, status=status, content_type="application/json")


NOT_FOUND = {"ok": False, "error_code": 404, "description": "Not Found"}
UNAUTHORIZED = {"ok": False, "error_code": 401, "description": "Unauthorized"}


async def read_params(request: web.Request) -> botapi.Params:
    """Parameters from the query string and a JSON, form-urlencoded or multipart body."""
    values: dict[str, Any] = dict(request.query)
    files: dict[str, Upload] = {}
    if request.body_exists:
        kind = request.content_type
        if kind == "application/json":
            raw = await request.read()
            if raw.strip():
                try:
                    data = json.loads(raw)
                except ValueError as exc:
                    raise botapi.bad("can't parse JSON encoded request body") from exc
                if isinstance(data, dict):
                    values.update(data)
        elif kind.startswith("multipart/"):
            reader = await request.multipart()
            async for part in reader:
                if not isinstance(part, BodyPartReader) or not part.name:
                    continue
                if part.filename is not None:
                    data_bytes = await part.read(decode=False)
                    files[part.name] = Upload(
                        bytes(data_bytes), part.filename, part.headers.get("Content-Type")
                    )
                else:
                    values[part.name] = await part.text()
        else:
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, str):
                    values[key] = value
                elif isinstance(value, FileField):
                    files[key] = Upload(value.file.read(), value.filename, value.content_type)
    return botapi.Params(values, files)


async def bot_api(request: web.Request) -> web.StreamResponse:
    """/bot{token}/{method}: Telegram's answers, faults and limits included."""
    sb = request.app[control.SANDBOX_KEY]
    token = request.match_info["token"]
    # Telegram answers 404 to a malformed token and 401 to a well-formed unknown one.
    if not TOKEN_SHAPE.match(token):
        return _json_response(NOT_FOUND, 404)
    bot = sb.bots.get(token)
    if bot is None:
        return _json_response(UNAUTHORIZED, 401)
    entry = botapi.METHODS.get(request.match_info["method"].lower())
    if entry is None:
        return _json_response(NOT_FOUND, 404)
    name = entry[0]
    faults = bot.faults
    faults.calls[name] += 1
    try:
        params = await read_params(request)
    except botapi.ApiError as exc:
        return _json_response(exc.to_json(), exc.code)
    delay = faults.delay_for(name.lower())
    if delay > 0:
        await asyncio.sleep(delay)
    rule = faults.take_rule(name.lower())
    if rule is not None and rule.hold > 0:
        faults.forced += 1
        body = await botapi.call(botapi.Context(sb, bot, name, sb.http), params)
        await asyncio.sleep(rule.hold)
        return _json_response(body, 200 if body["ok"] else int(body["error_code"]))
    if rule is not None:
        return _forced_failure(request, faults, rule)
    ctx = botapi.Context(sb, bot, name, sb.http)
    body = await botapi.call(ctx, params)
    status = 200 if body["ok"] else int(body["error_code"])
    return _json_response(body, status)


def _forced_failure(request: web.Request, faults: Faults, rule: FaultRule) -> web.Response:
    """The answer a fault rule forces: a dropped connection, a 429 or another error."""
    faults.forced += 1
    if rule.drop:
        faults.dropped += 1
        # Abort the socket (RST): the client sees a dropped connection, no HTTP answer.
        if request.transport is not None:
            request.transport.abort()
        return web.Response(status=502)
    if rule.status == 429:
        faults.too_many_requests += 1
        wait = rule.retry_after or 1
        error = botapi.ApiError(
            429, rule.description or f"Too Many Requests: retry after {wait}", wait
        )
    else:
        description = rule.description or _reason(rule.status)
        error = botapi.ApiError(rule.status, description)
    faults.errors[str(rule.status)] += 1
    return _json_response(error.to_json(), rule.status)


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


async def file_download(request: web.Request) -> web.StreamResponse:
    """/file/bot{token}/{file_path}: the bytes of a file getFile gave a path."""
    sb = request.app[control.SANDBOX_KEY]
    if request.match_info["token"] not in sb.bots:
        return _json_response(NOT_FOUND, 404)
    stored = sb.files.by_path(request.match_info["file_path"])
    if stored is None or not stored.path.exists():
        return _json_response(NOT_FOUND, 404)
    return web.FileResponse(
        stored.path,
        headers={"Content-Type": stored.mime_type or "application/octet-stream"},
    )


async def index(request: web.Request) -> web.StreamResponse:
    """The web chat page."""
    return web.FileResponse(STATIC / "index.html")


def create_app(sandbox: Sandbox) -> web.Application:
    """The aiohttp application serving one Sandbox."""
    # Room for Telegram's 50 MB bot uploads (refused with 413 above that) and 20 MB+ user files.
    app = web.Application(client_max_size=200 * 1024 * 1024)
    app[control.SANDBOX_KEY] = sandbox

    async def on_startup(app: web.Application) -> None:
        sandbox.http = aiohttp.ClientSession()

    async def on_cleanup(app: web.Application) -> None:
        for bot in sandbox.bots.values():
            if bot.webhook_task is not None:
                bot.webhook_task.cancel()
        if sandbox.http is not None:
            await sandbox.http.close()

    app.on_startup.append(on_startup)
    app.on_cleanup.append(on_cleanup)
    # The Bot API route first: the router tries routes in order, and it takes the load.
    app.add_routes(
        [
            web.route("*", "/bot{token}/{method}", bot_api),
            web.get("/file/bot{token}/{file_path:.+}", file_download),
        ]
    )
    # The control API is a sub-application: its own prefix and error middleware.
    api = web.Application(middlewares=[control.control_errors], client_max_size=200 * 1024 * 1024)
    api[control.SANDBOX_KEY] = sandbox
    api.add_routes(control.routes())
    app.add_subapp(control.PREFIX, api)
    app.router.add_get("/", index)
    if STATIC.is_dir():
        app.router.add_static("/static/", STATIC)
    return app


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])
