"""Browser-facing defences of `notus serve`: which `Host` names it answers, which origins may call `/v1`,
and how long a connection may take to send its headers.

    app = RequestGuard(app, allowed_hosts=bound_names("127.0.0.1", []), cors_origins=set(), refuse=error)
    uvicorn.run(app, http=header_timeout_protocol(HEADER_TIMEOUT_S), timeout_keep_alive=KEEP_ALIVE_TIMEOUT_S)

- DNS rebinding: a page on `evil.example` whose name is re-pointed at 127.0.0.1 reaches a key-less local
  server with `Host: evil.example`. Only the names the server is bound to (loopback names, `--host`,
  `--allowed-host`) and IP literals (which no rebinding can produce) are answered; others get 421.
- Cross-origin calls: a page on another origin can send a "simple" `text/plain` POST without a CORS
  preflight. A request to `/v1` whose `Origin` is neither this server nor a `--cors-origin` gets 403.
  Requests without `Origin` (curl, SDKs) are not browsers' cross-origin requests and pass.
- Slow headers: uvicorn closes idle keep-alive connections but waits forever for the headers of a new
  request; `header_timeout_protocol` closes a connection that has not sent them in time.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

import h11
from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")
ANY_HOST = "*"  # `--allowed-host '*'`: answer every Host (behind a proxy that checks it)


def bound_names(host: str, allowed: Iterable[str]) -> set[str]:
    """The Host names this server answers: loopback names, the bound `--host` and `--allowed-host`s."""
    return {name.lower().strip("[]") for name in (*LOOPBACK_NAMES, host, *allowed)}


def host_name(header: str) -> str:
    """`Host` header without its port: `example.com:8000` -> `example.com`, `[::1]:80` -> `::1`."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1 : header.find("]")] if "]" in header else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def host_allowed(header: str | None, allowed: set[str]) -> bool:
    if header is None or ANY_HOST in allowed:  # HTTP/1.0 without Host: not a browser
        return True
    name = host_name(header)
    return name in allowed or _is_ip(name)


def same_origin(origin: str, host: str | None) -> bool:
    """Whether a browser's `Origin` names this server as the client reached it (`Host`)."""
    parts = urlsplit(origin)
    return host is not None and parts.scheme in ("http", "https") and parts.netloc.lower() == host.lower()


class RequestGuard:
    """ASGI middleware refusing disallowed `Host` names (421) and cross-origin `/v1` requests (403)."""

    def __init__(self, app: ASGIApp, allowed_hosts: set[str], cors_origins: set[str],
                 refuse: Callable[[int, str, str], Response]):  # fmt: skip
        self.app, self.allowed_hosts, self.cors_origins, self.refuse = (
            app,
            allowed_hosts,
            cors_origins,
            refuse,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = Headers(scope=scope)
            host, origin = headers.get("host"), headers.get("origin")
            response = None
            if not host_allowed(host, self.allowed_hosts):
                response = self.refuse(
                    421, f"this server does not answer for the host {host!r}; start it with "
                    "`--allowed-host NAME` to allow that name", "invalid_host",
                )  # fmt: skip
            elif (
                scope["path"].startswith("/v1")
                and origin is not None
                and not same_origin(origin, host)
                and origin not in self.cors_origins
            ):
                response = self.refuse(
                    403, f"cross-origin request from {origin!r} refused; start the server with "
                    "`--cors-origin ORIGIN` to allow a web page on that origin", "cross_origin",
                )  # fmt: skip
            if response is not None:
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def header_timeout_protocol(seconds: float) -> type[H11Protocol]:
    """uvicorn's h11 protocol, closing a connection that has not sent a request's headers within
    `seconds` of connecting or of its previous response (uvicorn itself waits forever)."""

    class HeaderTimeoutProtocol(H11Protocol):
        header_timeout = seconds
        _header_timer = None

        def _arm(self) -> None:
            self._disarm()
            self._header_timer = self.loop.call_later(self.header_timeout, self._headers_too_slow)

        def _disarm(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _headers_too_slow(self) -> None:
            if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
                self.transport.close()  # no complete request line and headers yet

        def connection_made(self, transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self.conn.their_state is not h11.IDLE:
                self._disarm()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing():
                self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

    return HeaderTimeoutProtocol
