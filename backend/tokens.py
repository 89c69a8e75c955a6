"""API tokens with roles, kept in the backend's SQLite file as SHA-256 digests only."""

from __future__ import annotations

import hashlib
import secrets
from typing import Literal

from backend.registry import Registry

ApiRole = Literal["service_leader", "facility", "admin"]
ROLES: tuple[ApiRole, ...] = ("service_leader", "facility", "admin")


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create(registry: Registry, role: ApiRole, label: str, now_ms: int) -> str:
    """A new token for `role`; shown once, as only its digest is stored."""
    if role not in ROLES:
        raise ValueError(f"role {role!r}: use one of {', '.join(ROLES)}")
    token = secrets.token_urlsafe(32)
    with registry.transaction() as db:
        db.execute(
            "INSERT INTO tokens (digest, role, label, created_ms) VALUES (?, ?, ?, ?)",
            (_digest(token), role, label, now_ms),
        )
    return token


def role_of(registry: Registry, token: str) -> tuple[ApiRole, str] | None:
    """The role and label of a token, or None if it is not known."""
    rows = registry.query("SELECT role, label FROM tokens WHERE digest = ?", (_digest(token),))
    return (rows[0]["role"], rows[0]["label"]) if rows else None


def revoke(registry: Registry, label: str) -> int:
    with registry.transaction() as db:
        return db.execute("DELETE FROM tokens WHERE label = ?", (label,)).rowcount
