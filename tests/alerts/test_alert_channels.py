"""The channels on real servers: MQTT on Mosquitto, e-mail on aiosmtpd, webhook over HTTP;
retries, and one failing channel that does not stop the others."""

from __future__ import annotations

import json
import queue

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from backend.alerts.engine import AlertEngine
from backend.alerts.sources import StaticSources
from pletfri.influx import Influx
from pletfri.services import free_port
from pletfri.settings import Settings
from pletfri_fw import contract

from .conftest import Hook, Inbox
from .helpers import MIN, STATION, T0_MS, status


def test_alert_on_the_buildings_mqtt_topic(
    engine: AlertEngine, alert_settings: Settings, influx: Influx
) -> None:
    got: queue.Queue[tuple[str, dict]] = queue.Queue()
    sub = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    sub.on_message = lambda c, u, m: got.put((m.topic, json.loads(m.payload)))
    subscribed = queue.Queue[int]()
    sub.on_subscribe = lambda *a: subscribed.put(1)
    sub.connect(alert_settings.mqtt.host, alert_settings.mqtt.port)
    sub.loop_start()
    try:
        sub.subscribe(contract.alerts_topic("+"), qos=1)
        subscribed.get(timeout=5)
        status(influx, STATION, False, T0_MS - 20 * MIN)
        engine.evaluate(T0_MS)
        assert engine.deliver(T0_MS).sent["mqtt"] == 1
        topic, body = got.get(timeout=5)
    finally:
        sub.loop_stop()
        sub.disconnect()
    assert topic == "pletfri/v1/alerts/b001"
    assert body["event"] == "opened" and body["kind"] == "device_offline"
    assert body["severity"] == "critical" and body["room"] == "b001-r101"
    assert body["title"] == f"Device offline: {STATION}"
    assert body["title_da"] == f"Enhed offline: {STATION}"
    assert body["params"]["device"] == STATION and body["state"] == "open"


def test_webhook_body_fits_slack_and_teams(
    engine: AlertEngine, influx: Influx, webhook: Hook
) -> None:
    status(influx, STATION, False, T0_MS - 20 * MIN)
    engine.evaluate(T0_MS)
    engine.deliver(T0_MS)
    body = webhook.bodies[0]
    assert body["text"].startswith(f"*Enhed offline: {STATION}*\n")
    assert body["@type"] == "MessageCard" and body["summary"] == body["title"]
    assert body["themeColor"] == "EB5757"
    assert body["pletfri"]["rule"] == "device_offline" and body["pletfri"]["language"] == "da"


def test_failed_tries_are_retried(engine: AlertEngine, influx: Influx, webhook: Hook) -> None:
    webhook.fail_next = 1
    status(influx, STATION, False, T0_MS - 20 * MIN)
    engine.evaluate(T0_MS)
    report = engine.deliver(T0_MS)
    assert report.sent == {"email": 1, "webhook": 1, "mqtt": 1}
    [hook] = [i for i in engine.store.outbox() if i.channel == "webhook"]
    assert hook.attempts == 2 and hook.sent_ms == T0_MS


def test_one_failing_channel_does_not_stop_the_others(
    alert_settings: Settings, sources: StaticSources, influx: Influx, smtp: Inbox, webhook: Hook
) -> None:
    # The SMTP server is down and the webhook answers 500 to every try.
    alerts = alert_settings.alerts.model_copy(update={"smtp_port": free_port()})
    settings = alert_settings.model_copy(update={"alerts": alerts})
    webhook.fail_next = 100
    with AlertEngine(settings, sources, influx) as engine:
        status(influx, STATION, False, T0_MS - 20 * MIN)
        engine.evaluate(T0_MS)
        report = engine.deliver(T0_MS)
        assert report.sent == {"mqtt": 1}
        failed = {f.channel: f for f in report.failed}
        assert set(failed) == {"email", "webhook"}
        assert "ConnectionRefusedError" in failed["email"].error
        assert "answered 500" in failed["webhook"].error
        assert all(i.attempts == 2 for i in engine.store.outbox(failed=True))
        # Nothing is lost: once the webhook is back, `retry` queues them again.
        webhook.fail_next = 0
        assert engine.store.requeue_failed(T0_MS + MIN) == 2
        again = engine.deliver(T0_MS + MIN)
        assert again.sent == {"webhook": 1}
        assert [f.channel for f in again.failed] == ["email"]
