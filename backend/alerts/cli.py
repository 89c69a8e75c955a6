"""`pletfri alerts ...`: list, acknowledge, quiet hours, outbox, digest, run."""

from __future__ import annotations

import json
import time
from typing import Annotated
from zoneinfo import ZoneInfo

import typer

from backend.alerts.acknowledge import AlertStateError, acknowledge
from backend.alerts.hours import SpanError, parse_span
from backend.alerts.model import iso
from backend.alerts.points import flush
from backend.alerts.store import AlertNotFound, AlertStore
from pletfri.command import fail, settings
from pletfri.influx import Influx, InfluxError

app = typer.Typer(help="Alerts to service leaders.", no_args_is_help=True)


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


def register(root: typer.Typer) -> None:
    """Add the alert commands to the root `pletfri` command."""
    root.add_typer(app, name="alerts")
