"""The client address behind a trusted reverse proxy, for every route and page."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from starlette.types import ASGIApp, Receive, Scope, Send

from labelstack.services.accounts.addresses import Network, client_address


class ForwardedClient:
    """Pure ASGI middleware: when the direct peer is a trusted proxy, `scope["client"]`
    becomes the client its X-Forwarded-For names (`addresses.client_address`), so the login
    throttle and everything else that asks `request.client` see the real caller. Read per
    request, so a new configuration applies at once."""

    def __init__(self, app: ASGIApp, trusted: Callable[[], Sequence[Network]]) -> None:
        self.app = app
        self.trusted = trusted

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = scope.get("client")
        if scope["type"] in ("http", "websocket") and client:
            trusted = self.trusted()
            if trusted:
                values = [value.decode("latin-1") for name, value in scope["headers"]
                          if name == b"x-forwarded-for"]
                address = client_address(client[0], values, trusted)
                if address != client[0]:
                    scope = {**scope, "client": (address, 0)}
        await self.app(scope, receive, send)
