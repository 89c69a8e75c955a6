"""Request size limit for the HTTP API (``backend.max_body_bytes``), as plain ASGI middleware.

A body announced larger than the limit (Content-Length) is refused with 413 before a byte of
it is read; a body without a length (chunked) is counted as it arrives and refused as soon as
it passes the limit, so no request can make the backend hold more than the limit in memory.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTooLarge(Exception):
    pass


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _detail(self, size: int | None) -> bytes:
        got = f"{size:,} bytes" if size is not None else "more"
        return json.dumps(
            {
                "detail": f"request body of {got} is over the limit of {self.max_bytes:,} "
                "bytes (backend.max_body_bytes); send less, e.g. merge the registry in parts"
            }
        ).encode()

    async def _refuse(self, send: Send, size: int | None) -> None:
        body = self._detail(size)
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    size = int(value)
                except ValueError:
                    size = None
                if size is None or size > self.max_bytes:
                    await self._refuse(send, size)
                    return
        seen = 0
        started = refused = False

        async def counted() -> Message:
            nonlocal seen, started, refused
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes and not refused:
                    # Answered here: FastAPI turns an error while it reads the body into its
                    # own 400, which `tracked` then drops.
                    refused = True
                    if not started:
                        started = True
                        await self._refuse(send, None)
                    raise BodyTooLarge
            return message

        async def tracked(message: dict[str, Any]) -> None:
            nonlocal started
            if refused:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        with contextlib.suppress(BodyTooLarge):  # already answered with 413
            await self.app(scope, counted, tracked)
