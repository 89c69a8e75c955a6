"""`pletfri alerts ...`: list, acknowledge, quiet hours, outbox, digest, run."""

from __future__ import annotations

import json
import logging
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import date, datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

import typer

from backend.alerts.acknowledge import AlertStateError, acknowledge
from backend.alerts.backend_sources import BackendSources
from backend.alerts.engine import AlertEngine
from backend.alerts.hours import SpanError, parse_span
from backend.alerts.model import iso
from backend.alerts.points import flush
from backend.alerts.rules import RULES
from backend.alerts.store import AlertNotFound, AlertStore
from backend.registry import RegistryError
from backend.service import BackendError
from pletfri.command import fail, settings
from pletfri.influx import Influx, InfluxError

log = logging.getLogger(__name__)
app = typer.Typer(help="Alerts to service leaders.", no_args_is_help=True)


def local_day(ms: int, tz: ZoneInfo) -> date:
    return datetime.fromtimestamp(ms / 1000, tz).date()


def _store(ctx: typer.Context) -> AlertStore:
    return AlertStore(settings(ctx).backend.database_file)


def _now_ms() -> int:
    return int(time.time() * 1000)


@app.command("list")
def list_alerts(
    ctx: typer.Context,
    state: Annotated[
        str, typer.Option(help="open (incl. acknowledged), acknowledged, resolved or all.")
    ] = "open",
    building: Annotated[str | None, typer.Option(help="Only this building.")] = None,
    rule: Annotated[str | None, typer.Option(help="Only this rule, e.g. device_offline.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many, newest first.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """List alerts, newest first."""
    if state not in ("open", "acknowledged", "resolved", "all"):
        raise fail(f"--state {state!r}: use open, acknowledged, resolved or all")
    store = _store(ctx)
    try:
        found = store.alerts(None if state == "all" else state, building, rule, limit)
    finally:
        store.close()
    if as_json:
        for a in found:
            typer.echo(json.dumps(a.as_dict(), ensure_ascii=False))
        return
    if not found:
        typer.echo(f"no {state} alerts")
        return
    for a in found:
        level = " ESCALATED" if a.level else ""
        typer.echo(
            f"{a.id:>6}  {iso(a.opened_ms)}  {a.state:<12} {a.severity:<8}{level}  "
            f"{a.building:<8} {a.rule:<16} {a.subject}"
        )


@app.command("rules")
def rules(ctx: typer.Context) -> None:
    """Show every rule: on or off, state or event, severity and its settings."""
    a = settings(ctx).alerts
    for cls in RULES:
        cfg = getattr(a, cls.name).model_dump()
        on = "on " if cfg.pop("enabled") else "off"
        kind = "event" if cls.event else "state"
        extra = " ".join(f"{k}={v}" for k, v in cfg.items() if k != "severity")
        typer.echo(f"{cls.name:<16} {on} {kind:<5} {cfg['severity']:<8} {extra}".rstrip())


@app.command("ack")
def ack(
    ctx: typer.Context,
    alert_id: Annotated[
        int, typer.Argument(help="The alert's number (see `pletfri alerts list`).")
    ],
    by: Annotated[str, typer.Option(help="Who takes it: a name or leader id.")],
    note: Annotated[str, typer.Option(help="What will be done about it.")] = "",
) -> None:
    """Acknowledge an alert: it is not escalated; an event alert is closed by this."""
    s = settings(ctx)
    store = _store(ctx)
    try:
        alert = acknowledge(store, alert_id, by, _now_ms(), note)
        with Influx(s.influx) as influx:
            flush(store, influx, ZoneInfo(s.backend.timezone))
    except (AlertNotFound, AlertStateError, ValueError) as e:
        raise fail(str(e)) from None
    except InfluxError as e:
        typer.echo(f"acknowledged; its point waits for InfluxDB ({e})", err=True)
        return
    finally:
        store.close()
    typer.echo(f"alert {alert.id} {alert.state} by {alert.acked_by}")


@app.command("quiet")
def quiet(
    ctx: typer.Context,
    leader: Annotated[str, typer.Argument(help="The service leader's id in the registry.")],
    hours: Annotated[str, typer.Argument(help='Local HH:MM-HH:MM, e.g. 22:00-06:00; "" for none.')],
) -> None:
    """Set a service leader's quiet hours: only critical alerts reach them then."""
    if hours:
        try:
            parse_span(hours)
        except SpanError as e:
            raise fail(str(e)) from None
    store = _store(ctx)
    try:
        with store.transaction():
            store.set_quiet_hours(leader, hours)
    finally:
        store.close()
    typer.echo(f"{leader}: quiet hours {hours or 'none'}")


@app.command("outbox")
def outbox(
    ctx: typer.Context,
    failed: Annotated[bool, typer.Option("--failed", help="Only messages that failed.")] = False,
) -> None:
    """Show the messages queued, sent and failed, per channel."""
    store = _store(ctx)
    try:
        items = store.outbox(failed=failed)
    finally:
        store.close()
    for i in items:
        state = (
            f"sent {iso(i.sent_ms)}"
            if i.sent_ms
            else f"FAILED: {i.error}"
            if i.failed_ms
            else f"due {iso(i.due_ms)}"
        )
        typer.echo(
            f"{i.id:>6}  alert {i.alert_id or '-':>5}  {i.event:<9} {i.channel:<7} "
            f"{i.address}  tries {i.attempts}  {state}"
        )


@app.command("retry")
def retry(ctx: typer.Context) -> None:
    """Queue every failed message again; the next `pletfri alerts run` sends them."""
    store = _store(ctx)
    try:
        with store.transaction():
            n = store.requeue_failed(_now_ms())
    finally:
        store.close()
    typer.echo(f"{n} failed messages queued again")


@contextmanager
def _engine(ctx: typer.Context) -> Iterator[AlertEngine]:
    s = settings(ctx)
    try:
        sources = BackendSources(s)
    except (BackendError, RegistryError) as e:
        raise fail(str(e)) from None
    with closing(sources), AlertEngine(s, sources) as engine:
        yield engine


@app.command("run")
def run(
    ctx: typer.Context,
    every: Annotated[float, typer.Option(min=1, help="Seconds between evaluations.")] = 60,
    once: Annotated[bool, typer.Option("--once", help="Evaluate, send and stop.")] = False,
) -> None:
    """Evaluate the rules, queue digests and send what is due, now and then every --every s."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with _engine(ctx) as engine:
        try:
            while True:
                result, report = engine.tick(_now_ms())
                counts = result.counts()
                log.info(
                    "alerts: new %s, escalated %s, resolved %s; sent %s, failed %d",
                    counts["new"],
                    counts["escalated"],
                    counts["resolved"],
                    report.sent,
                    len(report.failed),
                )
                for rule, error in result.errors.items():
                    log.error("rule %s could not run: %s", rule, error)
                if once or stop.wait(every):
                    break
        except KeyboardInterrupt:
            pass


@app.command("digest")
def digest_cmd(
    ctx: typer.Context,
    leader: Annotated[str, typer.Argument(help="The service leader's id in the registry.")],
    day: Annotated[
        str | None, typer.Option(help="The day it covers, YYYY-MM-DD (default: yesterday).")
    ] = None,
    send: Annotated[bool, typer.Option("--send", help="Send it too (e-mail, webhook).")] = False,
) -> None:
    """Print a service leader's daily digest; with --send, also send it now."""
    now = _now_ms()
    tz = ZoneInfo(settings(ctx).backend.timezone)
    try:
        which = date.fromisoformat(day) if day else local_day(now, tz) - timedelta(days=1)
    except ValueError:
        raise fail(f"--day {day!r} is not a date; write it as YYYY-MM-DD") from None
    with _engine(ctx) as engine:
        try:
            msg = engine.digest(leader, which, now)
        except KeyError as e:
            raise fail(str(e.args[0])) from None
        typer.echo(f"{msg['title']}\n\n{msg['text']}\n\n{msg['footer']}")
        if send:
            queued = engine.send_digest(leader, which, now)
            report = engine.deliver(now)
            typer.echo(f"queued {queued} message(s); sent {report.sent or 'none'}")
            for f in report.failed:
                typer.echo(f"FAILED {f.channel} {f.address}: {f.error}", err=True)


def register(root: typer.Typer) -> None:
    """Add the alert commands to the root `pletfri` command."""
    root.add_typer(app, name="alerts")
