"""Real servers for the alert channels: an SMTP server (aiosmtpd) and an HTTP webhook receiver."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from typer.testing import CliRunner

from backend.alerts.engine import AlertEngine
from backend.alerts.sources import Device, Leader, Room, StaticSources
from pletfri.influx import Influx
from pletfri.services import free_port
from pletfri.settings import AlertsSettings, Settings

from .helpers import CARD, SENSOR, STATION, STATION2


@dataclass
class Inbox:
    port: int
    messages: list[EmailMessage] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append(msg)  # type: ignore[arg-type]
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[Inbox]:
    inbox = Inbox(free_port())
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()


@dataclass
class Hook:
    url: str
    bodies: list[dict[str, Any]] = field(default_factory=list)
    # The next this many requests are answered 500, as a webhook that is down.
    fail_next: int = 0


@pytest.fixture
def webhook() -> Iterator[Hook]:
    hook = Hook("")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if hook.fail_next > 0:
                hook.fail_next -= 1
                self.send_response(500)
                self.end_headers()
                return
            data = json.loads(body)
            # What Slack and Teams incoming webhooks insist on: a JSON object with text.
            ok = isinstance(data, dict) and isinstance(data.get("text"), str) and data["text"]
            hook.bodies.append(data)
            self.send_response(200 if ok else 400)
            self.end_headers()
            self.wfile.write(b"ok" if ok else b"no_text")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    hook.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield hook
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def alert_settings(settings: Settings, smtp: Inbox) -> Settings:
    alerts = AlertsSettings(smtp_port=smtp.port, retry_wait_s=0, attempts=2, quiet_hours="")
    return settings.model_copy(update={"alerts": alerts})


@pytest.fixture
def sources(webhook: Hook) -> StaticSources:
    return StaticSources(
        leaders_by_building={
            "b001": [Leader("sl-anna", "Anna", "da", "anna@example.dk", webhook.url)],
            "b002": [Leader("sl-ben", "Ben", "en", "ben@example.dk", None)],
        },
        room_list=[
            Room("b001-r101", "b001", "classroom", 60.0),
            Room("b001-r102", "b001", "toilet", 12.0),
            Room("b002-r201", "b002", "classroom", 55.0),
        ],
        device_list=[
            Device(STATION, "station", "b001", "b001-r101"),
            Device(SENSOR, "sensor", "b001", "b001-r101"),
            Device(STATION2, "station", "b002", "b002-r201"),
        ],
        cards={CARD},
    )


@pytest.fixture
def engine(
    alert_settings: Settings, sources: StaticSources, influx: Influx
) -> Iterator[AlertEngine]:
    with AlertEngine(alert_settings, sources, influx) as e:
        yield e


@pytest.fixture
def env(alert_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("PLETFRI_BACKEND__DATABASE_FILE", str(alert_settings.backend.database_file))
    monkeypatch.setenv("PLETFRI_INFLUX__URL", alert_settings.influx.url)
    monkeypatch.setenv("PLETFRI_INFLUX__DATABASE", alert_settings.influx.database)
    monkeypatch.setenv("PLETFRI_MQTT__PORT", str(alert_settings.mqtt.port))
    monkeypatch.setenv("PLETFRI_ALERTS__SMTP_PORT", str(alert_settings.alerts.smtp_port))
    monkeypatch.setenv("PLETFRI_ALERTS__QUIET_HOURS", "")
    monkeypatch.setenv("PLETFRI_ALERTS__RETRY_WAIT_S", "0")
    return CliRunner()
