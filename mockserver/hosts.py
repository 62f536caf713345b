"""Which web pages may talk to the mock: the Host check (DNS rebinding) and the admin write check (CSRF).

A page on any site can make the browser send requests to 127.0.0.1, and with a DNS name it controls that
resolves to 127.0.0.1 it can even read the answers (DNS rebinding): its requests then carry `Host: its-name`.
So, as Vite's `server.allowedHosts` and Jupyter do, a request is served only when its Host is loopback
(`localhost`, `*.localhost`), an IP literal (no page can rebind a name onto an address it did not load from),
the --public-url's host, or a host the user allows (`--allowed-host`; `all` turns the check off).

An admin write (POST/PUT/PATCH/DELETE under /_mock/, also below /ns/<name>/) must say `Content-Type:
application/json` and carry no foreign Origin: a page elsewhere cannot send that type without a CORS
preflight, and the preflight is refused (no Access-Control-* headers), so its request is never sent.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

from . import errors
from .parsing import Context
from .routing import route_path

ANY_HOST = ("all", "*")
_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_ADMIN = "/_mock/"


def host_name(host: str) -> str:
    """The name in a Host header value or a URL's netloc: lower case, no port, no brackets, no final dot."""
    host = host.strip().lower()
    if host.startswith("["):  # an IPv6 literal, with a port or without
        inside, _, rest = host[1:].partition("]")
        return inside if not rest or (rest[:1] == ":" and rest[1:].isascii() and rest[1:].isdigit()) else host
    if host.count(":") == 1:
        host = host.partition(":")[0]
    return host.rstrip(".")


def is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def is_loopback(name: str) -> bool:
    """`localhost`, a `*.localhost` name (RFC 6761: always loopback) or a loopback address (127/8, ::1)."""
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class HostPolicy:
    """The hosts the mock answers on: loopback and IP literals, the public URL's host and the allowed ones.

    An allowed entry is a host name (`mock`), or `.example.test` for that domain and every name under it.
    """

    def __init__(self, allowed: Iterable[str] = (), public_url: str | None = None) -> None:
        allowed = tuple(entry.strip().lower() for entry in allowed if entry.strip())
        self.any = any(entry in ANY_HOST for entry in allowed)
        self.names = {host_name(entry) for entry in allowed if not entry.startswith(".")}
        self.domains = tuple(entry for entry in allowed if entry.startswith("."))
        if public_url:
            self.names.add(host_name(urlsplit(public_url).netloc.rpartition("@")[2]))
        self._seen: set[str] = set()  # Host values already allowed: the check is one set lookup per request

    def named(self, name: str) -> bool:
        """Is `name` loopback, the public URL's or one the user allowed (not merely an IP literal)?"""
        return self.any or is_loopback(name) or name in self.names \
            or any(name == domain[1:] or name.endswith(domain) for domain in self.domains)

    def allows(self, host: str) -> bool:
        """May a request with this Host header value be served?"""
        if host in self._seen:
            return True
        name = host_name(host)
        ok = bool(name) and (self.named(name) or is_ip(name))
        if ok and len(self._seen) < 1024:
            self._seen.add(host)
        return ok

    def allows_origin(self, origin: str, host: str | None) -> bool:
        """May a page of this Origin write through the admin API? Its own (same host:port), or a named host."""
        if origin == "null":  # sandboxed frames, file: pages, the mock's own uploads
            return False
        try:
            parts = urlsplit(origin)
        except ValueError:
            return False
        if parts.scheme not in ("http", "https") or not parts.netloc:
            return False
        return (host is not None and parts.netloc.lower() == host.strip().lower()) \
            or self.named(host_name(parts.netloc))


def refusal(host: str) -> errors.Forbidden:
    name = (host_name(host) or host)[:200]
    return errors.Forbidden(
        f"Host {name!r} is not allowed: the mock answers only on loopback names and addresses, IP addresses, the "
        f"--public-url host and hosts allowed with --allowed-host (a guard against DNS rebinding). To serve it, "
        f"start with --allowed-host {name} (or RUNAPI_MOCK_ALLOWED_HOSTS={name}; .{name} allows its subdomains "
        "too, all allows every host)", code="host_not_allowed")


def check_admin_write(policy: HostPolicy, method: str, path: str, ctx: Context) -> None:
    """An admin write needs the JSON type and no foreign Origin; a preflight to the admin API is refused."""
    if not path.startswith(_ADMIN) or (method not in _WRITES and method != "OPTIONS"):
        return
    origin = ctx.headers.get("origin")
    if method == "OPTIONS" or (origin is not None and not policy.allows_origin(origin, ctx.headers.get("host"))):
        raise errors.Forbidden(
            f"Cross-origin requests to the admin API are refused (Origin {origin or 'none'!r}): only pages of "
            "the mock's own origin, loopback and --allowed-host hosts may change it", code="cross_origin_refused")
    media = ctx.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media != "application/json":
        raise errors.UnsupportedMediaType(
            f"Admin requests that change the mock must send Content-Type: application/json (with an empty body, "
            f"or {{}}), got {media or 'none'!r}: a web page cannot send that type to another site unasked")


class HostGuard:
    """Refuses requests on a foreign Host and cross-site admin writes, with the error envelope.

    Sits inside RequestContextMiddleware, which sets the context (the headers, read once) and the /ns/<name>
    root path, and renders what this raises.
    """

    def __init__(self, app: ASGIApp, policy: HostPolicy) -> None:
        self.app = app
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            ctx: Context = scope["runapi.context"]
            host = ctx.headers.get("host")  # none from an HTTP/1.0 client: a browser always sends one
            if host is not None and not self.policy.any and not self.policy.allows(host):
                raise refusal(host)
            check_admin_write(self.policy, scope["method"], route_path(scope), ctx)
        await self.app(scope, receive, send)
