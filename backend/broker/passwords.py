"""Mosquitto's password file, in the format mosquitto_passwd (2.0) writes.

Each line is `user:$7$<iterations>$<base64 salt>$<base64 hash>`: PBKDF2-HMAC-SHA512 over
the password with a 12-byte random salt, 101 iterations, 64 bytes of hash. Producing it
here means no plain password ever passes through a command line or a temporary file on
its way to mosquitto_passwd.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import os
import secrets
from pathlib import Path

# mosquitto_passwd 2.0's defaults (src/password_mosq.c: PW_DEFAULT_ITERATIONS, SALT_LEN).
ITERATIONS = 101
SALT_LEN = 12
PREFIX = "$7$"


class PasswordFileError(Exception):
    """The password file cannot be read or a name cannot go into it; says what to do."""


def new_password() -> str:
    """A device's or service's password: 144 random bits, URL-safe (no ':' or quotes)."""
    return secrets.token_urlsafe(18)


def hash_password(password: str, salt: bytes | None = None, iterations: int = ITERATIONS) -> str:
    salt = salt if salt is not None else os.urandom(SALT_LEN)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
    b64 = base64.b64encode
    return f"{PREFIX}{iterations}${b64(salt).decode()}${b64(digest).decode()}"


def check_password(password: str, hashed: str) -> bool:
    """Does `password` match `hashed` (a $7$ line's hash part), as Mosquitto checks it."""
    try:
        _, kind, iterations, salt, digest = hashed.split("$")
        if kind != "7":
            return False
        expected = base64.b64decode(digest)
        got = hashlib.pbkdf2_hmac(
            "sha512", password.encode(), base64.b64decode(salt), int(iterations)
        )
    except ValueError:
        return False
    return hmac.compare_digest(got, expected)


def _check_name(user: str) -> None:
    if not user or ":" in user or any(c.isspace() for c in user):
        raise PasswordFileError(
            f"user name {user!r} cannot go into a Mosquitto password file "
            "(it must be non-empty, without ':' or white space)"
        )


def read(path: Path) -> dict[str, str]:
    """User -> hash, in file order; a missing file is an empty one."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return {}
    except OSError as e:
        raise PasswordFileError(f"cannot read the password file {path}: {e}") from None
    out: dict[str, str] = {}
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        user, sep, hashed = line.partition(":")
        if not sep or not hashed.startswith(PREFIX):
            raise PasswordFileError(
                f"{path}:{n} is not a 'user:$7$...' line (a plain or sha512 password?); "
                "re-issue that account with `pletfri broker account` or `pletfri broker add`"
            )
        out[user] = hashed
    return out


def write(path: Path, users: dict[str, str]) -> None:
    """Replace the file atomically (Mosquitto may reload it at any moment), readable
    only by its owner: the hashes are slow to reverse, not impossible."""
    for user in users:
        _check_name(user)
    path.parent.mkdir(parents=True, exist_ok=True)
    old = path.stat() if path.exists() else None
    mode = old.st_mode & 0o777 if old else 0o600
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as f:
        f.writelines(f"{user}:{hashed}\n" for user, hashed in users.items())
        f.flush()
        os.fsync(f.fileno())
    os.chmod(tmp, mode)
    if old is not None:
        # The broker's user reads it through its owner or group (root:mosquitto 0640).
        with contextlib.suppress(PermissionError):
            os.chown(tmp, old.st_uid, old.st_gid)
    os.replace(tmp, path)
