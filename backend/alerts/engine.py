"""The alert engine: rules to alerts, alerts to messages, messages to channels.

    engine = AlertEngine(settings, sources)
    result = engine.evaluate(now)      # new / escalated / resolved alerts, counts by rule
    engine.queue_digests(now)          # once per leader and day, from alerts.digest_hour
    report = engine.deliver(now)       # send what is due, with retries
    engine.tick(now)                   # all three, then forget what is past retention

`now` (an aware datetime or epoch milliseconds) is always passed in, so a simulated
week can run in minutes. Everything the engine decides is in SQLite first, so a crash
between deciding and sending loses nothing.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from backend.alerts import digest, points
from backend.alerts.acknowledge import acknowledge
from backend.alerts.channels import Channel
from backend.alerts.channels.email import EmailChannel
from backend.alerts.channels.mqtt import MqttChannel
from backend.alerts.channels.webhook import WebhookChannel
from backend.alerts.hours import SpanError, parse_span, quiet_until
from backend.alerts.model import Alert, Evaluation, Finding, iso, raised, to_ms
from backend.alerts.newest import Newest
from backend.alerts.outbox import DeliveryReport, Outbox
from backend.alerts.readings import Readings
from backend.alerts.rules import all_rules
from backend.alerts.rules.base import Context, Rule
from backend.alerts.sources import Leader, Sources
from backend.alerts.store import AlertStore
from backend.alerts.texts import render
from pletfri.influx import Influx
from pletfri.settings import Settings
from pletfri_fw import contract

log = logging.getLogger(__name__)

# Threads reading InfluxDB at once in an evaluation (bench/bench_alerts.py).
READERS = 4


def default_channels(settings: Settings) -> dict[str, Channel]:
    makers: dict[str, Callable[[], Channel]] = {
        "email": lambda: EmailChannel(settings.alerts),
        "webhook": lambda: WebhookChannel(settings.alerts),
        "mqtt": lambda: MqttChannel(settings.mqtt, settings.alerts),
    }
    return {name: makers[name]() for name in settings.alerts.channels}


class AlertEngine:
    def __init__(
        self,
        settings: Settings,
        sources: Sources,
        influx: Influx | None = None,
        channels: dict[str, Channel] | None = None,
    ) -> None:
        self.settings = settings
        self.sources = sources
        self.tz = ZoneInfo(settings.backend.timezone)
        self.store = AlertStore(settings.backend.database_file)
        self._own_influx = influx is None
        self.influx = influx or Influx(settings.influx)
        self.readings = Readings(self.influx)
        self.rules: dict[str, Rule] = {r.name: r for r in all_rules(settings)}
        self.channels = default_channels(settings) if channels is None else channels
        self.outbox = Outbox(settings.alerts, self.store, self.channels)
        lookback_ms = settings.alerts.lookback_h * 3_600_000
        late_ms = 2 * settings.gateway.last_seen_timeout_s * 1000
        self.newest_status: Newest[dict[str, Any]] = Newest(
            self.readings.status, lambda r: r["time"], lookback_ms, late_ms
        )
        self.newest_seen: Newest[int] = Newest(
            self.readings.sensor_seen, lambda t: t, lookback_ms, late_ms
        )

    def close(self) -> None:
        for channel in self.channels.values():
            close = getattr(channel, "close", None)
            if close is not None:
                close()
        if self._own_influx:
            self.influx.close()
        self.store.close()

    def __enter__(self) -> AlertEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # Evaluation

    def evaluate(self, now: datetime | int) -> Evaluation:
        """Run every enabled rule at `now`; open, escalate and resolve alerts."""
        now_ms = to_ms(now)
        result = Evaluation(now_ms)
        ctx = Context(
            now_ms,
            self.settings,
            self.sources,
            self.readings,
            self.tz,
            self.newest_status,
            self.newest_seen,
        )
        found = self._find(ctx)
        for rule in self.rules.values():
            changes = Evaluation(now_ms)
            try:
                findings = found[rule.name]
                if isinstance(findings, Exception):
                    raise findings
                # All of a rule's changes, or none of them (the transaction rolls back).
                with self.store.transaction():
                    self._apply(rule, findings, ctx, changes)
            except Exception as e:  # one broken rule must not silence the others
                log.error("alert rule %s failed at %s", rule.name, iso(now_ms), exc_info=e)
                result.errors[rule.name] = f"{type(e).__name__}: {e}"
                continue
            result.new += changes.new
            result.resolved += changes.resolved
        with self.store.transaction():
            self._escalate(now_ms, result)
        self.write_points()
        return result

    def _find(self, ctx: Context) -> dict[str, list[Finding] | Exception]:
        """Every rule's findings. InfluxDB answers several queries at once, so the reads
        the rules share come first, then the rules, each on a thread of a small pool."""

        def warm(name: str) -> None:
            # A failed read is left to fail again in the rules that need it.
            with contextlib.suppress(Exception):
                getattr(ctx, name)

        def run(rule: Rule) -> list[Finding] | Exception:
            try:
                return rule.evaluate(ctx)
            except Exception as e:
                return e

        with ThreadPoolExecutor(READERS) as pool:
            list(pool.map(warm, Context.SHARED))
            return dict(zip(self.rules, pool.map(run, self.rules.values()), strict=True))

    def _apply(self, rule: Rule, findings: list[Finding], ctx: Context, result: Evaluation) -> None:
        now_ms = ctx.now_ms
        seen = set()
        for f in findings:
            seen.add(f.subject)
            existing = self.store.open_alert(f.rule, f.subject)
            if existing is not None:
                if existing.params != f.params:
                    self.store.update_params(existing.id, f.params)
                continue
            if rule.event and self.store.ever_raised(f.rule, f.subject):
                continue
            alert = self.store.insert(f, now_ms)
            notify_ms = self._notify(alert, "opened", now_ms)
            result.new.append(self.store.update(alert.id, now_ms, notify_ms=notify_ms))
        for alert in self.store.open_alerts(rule.name):
            if alert.subject in seen or not rule.cleared(alert, ctx):
                continue
            result.resolved.append(self._resolve(alert, now_ms))

    def _resolve(self, alert: Alert, now_ms: int) -> Alert:
        alert = self.store.update(alert.id, now_ms, resolved_ms=now_ms)
        # What still waits (quiet hours) is moot now; if nobody was told, nobody hears of it
        # either, only machines do.
        self.store.cancel_pending(alert.id)
        self._notify(alert, "resolved", now_ms, leaders=self.store.sent_to_leader(alert.id))
        return alert

    def _escalate(self, now_ms: int, result: Evaluation) -> None:
        after_ms = self.settings.alerts.escalate_after_min * 60_000
        for alert in self.store.open_alerts():
            if alert.acked_ms is not None or alert.level > 0 or alert.notify_ms is None:
                continue
            if now_ms - alert.notify_ms < after_ms:
                continue
            alert = self.store.update(alert.id, now_ms, level=1, escalated_ms=now_ms)
            self._notify(alert, "escalated", now_ms)
            result.escalated.append(alert)

    # Messages

    def _quiet_hours(self, leader: Leader) -> str:
        own = self.store.quiet_hours(leader.id)
        if own is not None:
            span = own
        elif leader.quiet_hours is not None:
            span = leader.quiet_hours
        else:
            span = self.settings.alerts.quiet_hours
        if span:
            try:
                parse_span(span)
            except SpanError as e:
                # A typo in one leader's record must not stop their alerts: send at once.
                log.warning("quiet hours of %s ignored: %s", leader.id, e)
                return ""
        return span

    def _notify(self, alert: Alert, event: str, now_ms: int, leaders: bool = True) -> int:
        """Queue the messages of one event; return when the first leader will get it."""
        severity = raised(alert.severity) if event == "escalated" else alert.severity
        enabled = self.channels
        first_due: int | None = None
        recipients = self.sources.leaders(alert.building) if leaders else []
        for leader in recipients:
            msg = render(alert, event, leader.language, self.tz) | {"severity": severity}
            # Only what is critical in itself wakes a leader; an escalation waits too.
            quiet = "" if alert.severity == "critical" else self._quiet_hours(leader)
            due = quiet_until(now_ms, quiet, self.tz)
            for channel, address in (("email", leader.email), ("webhook", leader.webhook)):
                if channel in enabled and address:
                    self.store.queue(alert.id, event, channel, address, leader.id, msg, due)
                    first_due = due if first_due is None else min(first_due, due)
        if leaders and event == "escalated" and "email" in enabled:
            lang = recipients[0].language if recipients else "en"
            msg = render(alert, event, lang, self.tz) | {"severity": severity}
            quiet = "" if alert.severity == "critical" else self.settings.alerts.quiet_hours
            due = quiet_until(now_ms, quiet, self.tz)
            for address in self.settings.alerts.escalation_emails:
                self.store.queue(
                    alert.id, event, "email", address, f"escalation:{address}", msg, due
                )
        if "mqtt" in enabled:
            self.store.queue(
                alert.id,
                event,
                "mqtt",
                contract.alerts_topic(alert.building),
                "",
                self._machine_message(alert, event, severity),
                now_ms,
            )
        return now_ms if first_due is None else first_due

    def _machine_message(self, alert: Alert, event: str, severity: str) -> dict[str, Any]:
        en = render(alert, event, "en", self.tz)
        da = render(alert, event, "da", self.tz)
        return alert.as_dict() | {
            "event": event,
            "kind": alert.rule,
            "severity": severity,
            "title": en["title"],
            "text": en["text"],
            "title_da": da["title"],
            "text_da": da["text"],
        }

    def write_points(self) -> int:
        return points.flush(self.store, self.influx, self.tz)

    # Acknowledgement, digests, delivery

    def acknowledge(self, alert_id: int, by: str, now: datetime | int, note: str = "") -> Alert:
        """A person takes the alert (see acknowledge.py)."""
        alert = acknowledge(self.store, alert_id, by, to_ms(now), note)
        self.write_points()
        return alert

    def leaders(self) -> dict[str, tuple[Leader, list[str]]]:
        """Every service leader with the buildings they lead."""
        out: dict[str, tuple[Leader, list[str]]] = {}
        for building in self.sources.buildings():
            for leader in self.sources.leaders(building):
                out.setdefault(leader.id, (leader, []))[1].append(building)
        return out

    def digest(self, leader_id: str, day: date, now: datetime | int) -> dict[str, Any]:
        """Build (not send) one leader's digest for `day`, as known at `now`."""
        leaders = self.leaders()
        if leader_id not in leaders:
            raise KeyError(
                f"{leader_id!r} is not a service leader of any building; "
                f"known: {', '.join(sorted(leaders)) or 'none'}"
            )
        leader, buildings = leaders[leader_id]
        open_alerts = [a for a in self.store.open_alerts() if a.building in buildings]
        return digest.build(leader, buildings, day, self.sources, open_alerts, self.tz, to_ms(now))

    def queue_digests(self, now: datetime | int) -> int:
        """From `alerts.digest_hour` local time, queue yesterday's digest once per leader."""
        now_ms = to_ms(now)
        local = datetime.fromtimestamp(now_ms / 1000, self.tz)
        if local.hour < self.settings.alerts.digest_hour:
            return 0
        day = local.date() - timedelta(days=1)
        queued = 0
        with self.store.transaction():
            for leader_id, (leader, _) in self.leaders().items():
                if not (leader.email or leader.webhook):
                    continue
                if self.store.claim_digest(leader_id, day.isoformat(), now_ms):
                    due = quiet_until(now_ms, self._quiet_hours(leader), self.tz)
                    if self._queue_digest(leader, day, now_ms, due):
                        queued += 1
        return queued

    def send_digest(self, leader_id: str, day: date, now: datetime | int) -> int:
        """Queue one leader's digest at once (on request); returns the messages queued."""
        now_ms = to_ms(now)
        leader = self.leaders()[leader_id][0]
        with self.store.transaction():
            return self._queue_digest(leader, day, now_ms, now_ms)

    def _queue_digest(self, leader: Leader, day: date, now_ms: int, due_ms: int) -> int:
        msg = self.digest(leader.id, day, now_ms)
        queued = 0
        for channel, address in (("email", leader.email), ("webhook", leader.webhook)):
            if channel in self.channels and address:
                self.store.queue(None, "digest", channel, address, leader.id, msg, due_ms)
                queued += 1
        return queued

    def deliver(self, now: datetime | int) -> DeliveryReport:
        return self.outbox.deliver(to_ms(now))

    def prune(self, now: datetime | int) -> int:
        """Forget what was resolved more than `backend.retention_days` ago."""
        before = to_ms(now) - self.settings.backend.retention_days * 86_400_000
        with self.store.transaction():
            return self.store.prune(before)

    def tick(self, now: datetime | int) -> tuple[Evaluation, DeliveryReport]:
        """evaluate, queue_digests, deliver and prune, at `now`."""
        result = self.evaluate(now)
        self.queue_digests(now)
        report = self.deliver(now)
        self.prune(now)
        return result, report
