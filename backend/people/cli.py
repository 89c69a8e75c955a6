"""The people's commands: under `pletfri backend` API tokens (`token add`, `token revoke`),
`retention` (the retention rule, for cron or a timer) and `export-person` (one person's data
on request); `pletfri site-key` (the card pseudonyms' key and its rotation)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, cast

import typer

from backend.command import NowOpt, parse_now, running_backend
from backend.people import sitekey, tokens
from pletfri.command import fail, settings
from pletfri.influx import InfluxError

token_app = typer.Typer(help="API tokens with roles.", no_args_is_help=True)


@token_app.command("add")
def token_add(
    ctx: typer.Context,
    role: Annotated[str, typer.Option(help="service_leader, facility or admin.")],
    label: Annotated[str, typer.Option(help="Who or what holds it (for revoking).")],
    person: Annotated[
        str | None,
        typer.Option(help="Bind a service_leader token to this leader: only their buildings."),
    ] = None,
) -> None:
    """Create an API token; it is printed once and only its digest is kept."""
    if role not in tokens.ROLES:
        raise fail(f"--role {role!r}: use one of {', '.join(tokens.ROLES)}")
    with running_backend(ctx) as be:
        try:
            now = int(time.time() * 1000)
            token = tokens.create(be.registry, cast(tokens.ApiRole, role), label, now, person)
        except ValueError as e:
            raise fail(str(e)) from None
    typer.echo(token)


@token_app.command("revoke")
def token_revoke(
    ctx: typer.Context, label: Annotated[str, typer.Option(help="The label given at add.")]
) -> None:
    """Revoke every token with this label."""
    with running_backend(ctx) as be:
        n = tokens.revoke(be.registry, label)
    typer.echo(f"revoked {n} token(s)")


def retention(
    ctx: typer.Context,
    run: Annotated[
        bool, typer.Option("--run", help="Apply it; without, only say what goes.")
    ] = False,
    now: NowOpt = None,
) -> None:
    """The retention rule: person-level data older than backend.retention_days (taps,
    visits, alerts about a card, alert messages) goes, daily sums and the monthly report's
    figures stay. For cron or a systemd timer (docs/operations.md); logs what it removed."""
    with running_backend(ctx) as be:
        try:
            removed = be.forget(parse_now(ctx, now), apply=run)
        except InfluxError as e:
            raise fail(
                f"{e}; InfluxDB 2.x and 3.x refuse DELETE over the v1 API: set the bucket's "
                "retention there instead"
            ) from None
    typer.echo(removed.text())


def export_person(
    ctx: typer.Context,
    person: Annotated[str, typer.Argument(help="The person's id in the registry, e.g. p0042.")],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write the JSON here (default: stdout).")
    ] = None,
) -> None:
    """Everything held about one person (registry, taps, visits, alerts) as JSON, for a
    request under GDPR articles 15 and 20."""
    with running_backend(ctx) as be:
        data = be.export_person(person, int(time.time() * 1000))
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    if out is None:
        typer.echo(text, nl=False)
        return
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    except OSError as e:
        raise fail(f"cannot write {out}: {e.strerror}; choose another --out") from None
    typer.echo(
        f"wrote {out}: {len(data['taps'])} taps, {len(data['visits'])} visits, "
        f"{len(data['cards'])} cards of {person}",
        err=True,
    )


site_key_app = typer.Typer(
    help="The installation's site key for card pseudonyms and its rotation (docs/security.md).",
    no_args_is_help=True,
)


def _path(ctx: typer.Context) -> Path:
    return settings(ctx).backend.site_key_file


@site_key_app.command("init")
def init(
    ctx: typer.Context,
    from_hex: Annotated[
        str | None,
        typer.Option(help="Adopt this key (hex) of a fleet already provisioned, not a new one."),
    ] = None,
) -> None:
    """Make this installation's site key (random, 32 bytes) in backend.site_key_file."""
    try:
        key = bytes.fromhex(from_hex) if from_hex else None
    except ValueError:
        raise fail("--from-hex must be hexadecimal, at least 32 characters") from None
    try:
        kf = sitekey.init(_path(ctx), key)
    except sitekey.SiteKeyError as e:
        raise fail(str(e)) from None
    typer.echo(f"site key {sitekey.fingerprint(kf.key_bytes)} written to {_path(ctx)} (mode 600)")


@site_key_app.command("show")
def show(
    ctx: typer.Context,
    reveal: Annotated[bool, typer.Option(help="Print the key itself, for provisioning.")] = False,
) -> None:
    """The key's fingerprint, a rotation under way and the past ones (JSON)."""
    try:
        kf = sitekey.load(_path(ctx))
    except sitekey.SiteKeyError as e:
        raise fail(str(e)) from None
    if reveal:
        typer.echo(kf.key)
        return
    out = {"key": sitekey.fingerprint(kf.key_bytes), "history": kf.history, "rotation": None}
    if kf.rotation:
        out["rotation"] = {
            "started_ms": kf.rotation.started_ms,
            "overlap_until_ms": kf.rotation.overlap_until_ms,
            "previous": sitekey.fingerprint(bytes.fromhex(kf.rotation.previous)),
        }
        with running_backend(ctx) as be:
            out["rotation"]["cards_waiting"] = len(sitekey.pending(be.registry))
    typer.echo(json.dumps(out, indent=2))


@site_key_app.command("rotate")
def rotate(
    ctx: typer.Context,
    overlap_days: Annotated[
        float,
        typer.Option(help="Days both keys are accepted; long enough for every card to be tapped."),
    ] = 14,
    now: NowOpt = None,
) -> None:
    """Start a rotation: a new key to every station, the old one still accepted."""
    with running_backend(ctx) as be:
        try:
            kf, told = sitekey.start(
                _path(ctx), be.registry, be.settings.mqtt, parse_now(ctx, now), overlap_days
            )
        except sitekey.SiteKeyError as e:
            raise fail(str(e)) from None
    typer.echo(
        f"new site key {sitekey.fingerprint(kf.key_bytes)} sent to {told} stations; both keys "
        f"count for {overlap_days:g} days; then `pletfri site-key finish`"
    )


@site_key_app.command("finish")
def finish(
    ctx: typer.Context,
    force: Annotated[
        bool, typer.Option(help="Finish although some cards were not tapped in the overlap.")
    ] = False,
    now: NowOpt = None,
) -> None:
    """End the overlap: the stations keep the new key alone."""
    with running_backend(ctx) as be:
        try:
            _, told, left = sitekey.finish(
                _path(ctx), be.registry, be.influx, be.settings.mqtt, parse_now(ctx, now),
                be.export_gateway_files, force,
            )  # fmt: skip
        except sitekey.SiteKeyError as e:
            raise fail(str(e)) from None
    typer.echo(f"rotation finished; {told} stations keep the new key alone")
    if left:
        people = sorted({p for _, p in left})
        typer.echo(
            f"{len(left)} cards were not tapped during the overlap; enrol them again: "
            + ", ".join(people)
        )
