"""Web logins and their sessions, in the backend's SQLite file beside the registry.

A login (`pletfri web user add`) is a name and a password bound to one person of the
registry; what the person may see follows from the registry, read at every request: a
cleaner, trainee or buddy sees their home building's plan (and only their shift, if the
login names one), a service leader the buildings they lead. A person removed from the
registry, or moved to another building, loses or changes that reach at once. The login has
no foreign key to the person on purpose: `pletfri registry import --replace` deletes and
re-adds every person, which would otherwise delete every login with them.

Passwords are kept as scrypt hashes (hashlib, RFC 7914 parameters n=2^14, r=8, p=1); session
ids and their CSRF tokens are random, and only a session id's SHA-256 digest is stored, so a
copy of the database opens no session.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Literal

from backend.registry import Person, Registry

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS web_users (
        name TEXT PRIMARY KEY,
        person TEXT NOT NULL,
        password TEXT NOT NULL,
        shift TEXT,
        created_ms INTEGER NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS web_sessions (
        digest TEXT PRIMARY KEY,
        user TEXT NOT NULL REFERENCES web_users(name) ON DELETE CASCADE,
        csrf TEXT NOT NULL,
        created_ms INTEGER NOT NULL,
        seen_ms INTEGER NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS web_sessions_user ON web_sessions(user)",
)

NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
MIN_PASSWORD = 10
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
Kind = Literal["cleaner", "leader"]
CLEANER_ROLES = ("cleaner", "trainee", "buddy")


class AccountError(Exception):
    """A request about logins that cannot be done, worded for the person who made it."""


@dataclass(frozen=True, slots=True)
class User:
    name: str
    person: Person
    # A cleaner's shift; None: the shift under way or next.
    shift: str | None
    buildings: tuple[str, ...]

    @property
    def kind(self) -> Kind:
        return "leader" if self.person.role == "service_leader" else "cleaner"


@dataclass(frozen=True, slots=True)
class Session:
    user: User
    csrf: str
    created_ms: int


def ensure_schema(registry: Registry) -> None:
    with registry.transaction() as db:
        for sql in SCHEMA:
            db.execute(sql)


def hash_password(password: str, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **_SCRYPT)
    return f"scrypt${salt.hex()}${digest.hex()}"


def _matches(password: str, stored: str) -> bool:
    salt = stored.split("$")[1]
    return hmac.compare_digest(hash_password(password, bytes.fromhex(salt)), stored)


# Compared against when the name is unknown, so a wrong name takes as long as a wrong password.
_DUMMY = hash_password("not a password of anyone")


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"a password needs at least {MIN_PASSWORD} characters")


def _bind(registry: Registry, name: str, person_id: str, shift: str | None) -> User:
    """The login `name` as the registry sees its person now; AccountError if it cannot log in."""
    person = registry.person(person_id)
    if person is None:
        raise AccountError(f"login {name!r}: person {person_id!r} is not in the registry")
    if person.role == "service_leader":
        buildings = tuple(registry.led_buildings(person.id))
        if not buildings:
            raise AccountError(
                f"login {name!r}: service leader {person.id!r} leads no building "
                "(add them under `leaders` in the registry)"
            )
    elif person.building:
        buildings = (person.building,)
    else:
        raise AccountError(
            f"login {name!r}: {person.role} {person.id!r} has no home building in the registry"
        )
    return User(name, person, shift, buildings)


def add(
    registry: Registry,
    name: str,
    person: str,
    password: str,
    now_ms: int,
    shift: str | None = None,
) -> User:
    """A login for a person of the registry; the shift only for a cleaner."""
    if not NAME.match(name):
        raise AccountError(
            f"login name {name!r}: use 2-64 lowercase letters, digits, '.', '_' or '-'"
        )
    _check_password(password)
    user = _bind(registry, name, person, shift)
    if shift is not None and user.kind == "leader":
        raise AccountError(f"login {name!r}: a service leader sees every shift; leave out --shift")
    with registry.transaction() as db:
        if db.execute("SELECT 1 FROM web_users WHERE name = ?", (name,)).fetchone():
            raise AccountError(f"login {name!r} exists; `pletfri web user password` changes it")
        db.execute(
            "INSERT INTO web_users (name, person, password, shift, created_ms) "
            "VALUES (?, ?, ?, ?, ?)",
            (name, person, hash_password(password), shift, now_ms),
        )
    return user


def remove(registry: Registry, name: str) -> bool:
    """Delete a login and end its sessions."""
    with registry.transaction() as db:
        return db.execute("DELETE FROM web_users WHERE name = ?", (name,)).rowcount > 0


def set_password(registry: Registry, name: str, password: str) -> None:
    """A new password; every session of the login ends."""
    _check_password(password)
    with registry.transaction() as db:
        changed = db.execute(
            "UPDATE web_users SET password = ? WHERE name = ?", (hash_password(password), name)
        ).rowcount
        if not changed:
            raise AccountError(f"no login {name!r}; `pletfri web user list` shows them")
        db.execute("DELETE FROM web_sessions WHERE user = ?", (name,))


def users(registry: Registry) -> list[tuple[str, str, str | None]]:
    """(name, person, shift) of every login."""
    rows = registry.query("SELECT name, person, shift FROM web_users ORDER BY name")
    return [(r["name"], r["person"], r["shift"]) for r in rows]


def authenticate(registry: Registry, name: str, password: str) -> User | None:
    """The login if the name and password match and its person may still log in."""
    rows = registry.query(
        "SELECT person, password, shift FROM web_users WHERE name = ?", (name.strip().lower(),)
    )
    if not rows:
        _matches(password, _DUMMY)
        return None
    if not _matches(password, rows[0]["password"]):
        return None
    try:
        return _bind(registry, name.strip().lower(), rows[0]["person"], rows[0]["shift"])
    except AccountError:
        return None


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def open_session(registry: Registry, user: User, now_ms: int) -> str:
    """A new session for `user`; returns its id (for the cookie), never stored."""
    session_id = secrets.token_urlsafe(32)
    with registry.transaction() as db:
        db.execute(
            "INSERT INTO web_sessions (digest, user, csrf, created_ms, seen_ms) "
            "VALUES (?, ?, ?, ?, ?)",
            (_digest(session_id), user.name, secrets.token_urlsafe(24), now_ms, now_ms),
        )
    return session_id


def session(
    registry: Registry, session_id: str, now_ms: int, idle_ms: int, max_ms: int
) -> Session | None:
    """The live session with this id (its idle clock restarted), or None.

    A session idle for `idle_ms` or older than `max_ms` is deleted; so is one whose person
    can no longer log in.
    """
    digest = _digest(session_id)
    with registry.transaction() as db:
        row = db.execute(
            "SELECT s.csrf, s.created_ms, s.seen_ms, u.name, u.person, u.shift "
            "FROM web_sessions s JOIN web_users u ON u.name = s.user WHERE s.digest = ?",
            (digest,),
        ).fetchone()
        if row is None:
            return None
        if now_ms - row["seen_ms"] > idle_ms or now_ms - row["created_ms"] > max_ms:
            db.execute("DELETE FROM web_sessions WHERE digest = ?", (digest,))
            return None
        db.execute("UPDATE web_sessions SET seen_ms = ? WHERE digest = ?", (now_ms, digest))
    try:
        user = _bind(registry, row["name"], row["person"], row["shift"])
    except AccountError:
        close_session(registry, session_id)
        return None
    return Session(user, row["csrf"], row["created_ms"])


def close_session(registry: Registry, session_id: str) -> None:
    with registry.transaction() as db:
        db.execute("DELETE FROM web_sessions WHERE digest = ?", (_digest(session_id),))


def prune_sessions(registry: Registry, now_ms: int, idle_ms: int, max_ms: int) -> int:
    """Delete sessions that have expired (called at each login)."""
    with registry.transaction() as db:
        return db.execute(
            "DELETE FROM web_sessions WHERE seen_ms < ? OR created_ms < ?",
            (now_ms - idle_ms, now_ms - max_ms),
        ).rowcount
