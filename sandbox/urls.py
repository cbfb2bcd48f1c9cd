"""URLs as Telegram reads them: TDLib's `parse_url` (tdutils/td/utils/HttpUrl.cpp) and
`LinkManager::check_link`, with their error texts."""

from __future__ import annotations

import re
from dataclasses import dataclass

# RFC 3986 characters TDLib allows in a host or userinfo (plus UTF-8 and %XX escapes).
_ALLOWED = re.compile(r"[A-Za-z0-9.\-_!$,~*'();&+=]")


class UrlError(ValueError):
    """A URL TDLib refuses; str() is TDLib's message."""


@dataclass
class HttpUrl:
    """A parsed http(s) URL."""

    protocol: str  # "http" | "https"
    host: str
    port: int  # the effective port (80/443 when none is given)
    specified_port: int  # 0 when the URL names none


def _check_part(part: str, name: str, allow_colon: bool) -> None:
    i = 0
    while i < len(part):
        c = part[i]
        if _ALLOWED.fullmatch(c) or (allow_colon and c == ":") or ord(c) >= 128:
            i += 1
            continue
        if c == "%":
            if re.fullmatch(r"[0-9A-Fa-f]{2}", part[i + 1 : i + 3]):
                i += 3
                continue
            raise UrlError(f"Wrong percent-encoded symbol in URL {name}")
        raise UrlError(f"Disallowed character in URL {name}")


def parse_url(url: str, default_protocol: str = "http") -> HttpUrl:
    """TDLib's parse_url: `[https?://][userinfo@]host[:port][/path]`; raises UrlError."""
    match = re.match(r"([^:/?#@\[\]]*)://", url)
    if match:
        protocol = match.group(1).lower()
        if protocol not in ("http", "https"):
            raise UrlError("Unsupported URL protocol")
        rest = url[match.end() :]
    else:
        protocol, rest = default_protocol, url
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    port = 0
    colon = max(authority.rfind(":"), authority.rfind("]"), authority.rfind("@"))
    if colon > 0 and authority[colon] == ":":
        digits = authority[colon + 1 :].lstrip("0") or "0"
        port = int(digits) if digits.isdigit() and int(digits) > 0 else -1
        userinfo_host = authority[:colon]
    else:
        userinfo_host = authority
    if port < 0 or port > 65535:
        raise UrlError("Wrong port number specified in the URL")
    userinfo, _, host = userinfo_host.rpartition("@")
    if not host:
        raise UrlError("URL host is empty")
    if host == ".":
        raise UrlError("Host is invalid")
    host = host.lower()
    if not (host.startswith("[") and host.endswith("]")):
        _check_part(host, "host", False)
        _check_part(userinfo, "userinfo", True)
    effective = port or (80 if protocol == "http" else 443)
    return HttpUrl(protocol, host, effective, port)


def check_link(url: str) -> None:
    """LinkManager::check_link for an http(s) or tg:// link; raises UrlError with TDLib's text."""
    try:
        link = url
        is_tg = link.lower().startswith("tg:")
        if is_tg:
            link = link[3:].removeprefix("//")
        parsed = parse_url(link)
        if not is_tg and "." not in parsed.host and not parsed.host.startswith("["):
            raise UrlError("Wrong HTTP URL")
    except UrlError as exc:
        raise UrlError(f"URL '{url}' is invalid: {exc}") from exc
