"""API tokens with roles, kept in the backend's SQLite file as SHA-256 digests only."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Literal

from backend.registry import Registry

ApiRole = Literal["service_leader", "facility", "admin"]
ROLES: tuple[ApiRole, ...] = ("service_leader", "facility", "admin")


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Token:
    role: ApiRole
    label: str
    # A service leader from the registry: the token then reaches only their buildings.
    person: str | None


def create(
    registry: Registry, role: ApiRole, label: str, now_ms: int, person: str | None = None
) -> str:
    """A new token for `role`; shown once, as only its digest is stored."""
    if role not in ROLES:
        raise ValueError(f"role {role!r}: use one of {', '.join(ROLES)}")
    if person is not None:
        holder = registry.person(person)
        if holder is None or holder.role != "service_leader" or role != "service_leader":
            raise ValueError(
                f"a token can be bound only to a service leader in the registry, with the "
                f"role service_leader; {person!r} is "
                + (holder.role if holder else "not in the registry")
            )
    token = secrets.token_urlsafe(32)
    with registry.transaction() as db:
        db.execute(
            "INSERT INTO tokens (digest, role, label, created_ms, person) VALUES (?, ?, ?, ?, ?)",
            (_digest(token), role, label, now_ms, person),
        )
    return token


def lookup(registry: Registry, token: str) -> Token | None:
    """What a token may do, or None if it is not known."""
    rows = registry.query(
        "SELECT role, label, person FROM tokens WHERE digest = ?", (_digest(token),)
    )
    return Token(rows[0]["role"], rows[0]["label"], rows[0]["person"]) if rows else None


def revoke(registry: Registry, label: str) -> int:
    with registry.transaction() as db:
        return db.execute("DELETE FROM tokens WHERE label = ?", (label,)).rowcount
