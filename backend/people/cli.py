"""The people's commands under `pletfri backend`: API tokens (`token add`, `token revoke`),
`forget` (retention) and `export-person` (one person's data on request)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, cast

import typer

from backend.command import NowOpt, parse_now, running_backend
from backend.people import tokens
from pletfri.command import fail

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


def forget(ctx: typer.Context, now: NowOpt = None) -> None:
    """Delete taps and visits older than backend.retention_days, keeping daily sums."""
    with running_backend(ctx) as be:
        days, kept = be.forget(parse_now(ctx, now))
    typer.echo(f"{days} days summarised into visit_day; taps and visits kept from {kept}")


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
