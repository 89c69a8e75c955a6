"""A JSON POST that Slack and Microsoft Teams incoming webhooks both accept.

Both read `text` (Slack as mrkdwn, Teams' connector as markdown); Teams' MessageCard
also shows `title` and `themeColor`, and Slack ignores members it does not know.
`pletfri` carries the alert's fields for any other receiver.
"""

from __future__ import annotations

from typing import Any

import httpx

from backend.alerts.channels import ChannelError, plain_text
from pletfri.settings import AlertsSettings

COLOURS = {"info": "2F80ED", "warning": "F2994A", "critical": "EB5757"}


def body(message: dict[str, Any]) -> dict[str, Any]:
    return {
        "@type": "MessageCard",
        "@context": "https://schema.org/extensions",
        "summary": message["title"],
        "title": message["title"],
        "themeColor": COLOURS.get(message.get("severity", "info"), COLOURS["info"]),
        "text": f"*{message['title']}*\n{plain_text(message)}",
        "pletfri": message,
    }


class WebhookChannel:
    name = "webhook"

    def __init__(self, settings: AlertsSettings) -> None:
        self.http = httpx.Client(timeout=settings.send_timeout_s)

    def send(self, address: str, message: dict[str, Any]) -> None:
        r = self.http.post(address, json=body(message))
        if r.status_code >= 300:
            raise ChannelError(f"webhook {address} answered {r.status_code}: {r.text[:200]}")

    def close(self) -> None:
        self.http.close()
