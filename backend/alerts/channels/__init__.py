"""The ways a message reaches people and machines: e-mail, webhook, MQTT.

A channel sends one message to one address and raises `ChannelError` (or any OSError or
HTTP error) when it could not; retrying and reporting are the outbox's job.
"""

from __future__ import annotations

from typing import Any, Protocol


class ChannelError(Exception):
    pass


class Channel(Protocol):
    name: str

    def send(self, address: str, message: dict[str, Any]) -> None: ...


def plain_text(message: dict[str, Any]) -> str:
    """Title, text and footer as plain text, the form e-mail and chat share."""
    parts = [message["text"]]
    if message.get("footer"):
        parts.append(message["footer"])
    return "\n\n".join(parts)
