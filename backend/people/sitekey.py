"""The installation's site key and its rotation with an overlap (docs/security.md).

A station sends `card` = the first 8 bytes of HMAC-SHA256(site key, card UID); the registry
maps these pseudonyms to people and never sees a UID, so it cannot compute a card's
pseudonym under a new key itself. A rotation therefore teaches it, card by card:

1. `start`: a new random key; the previous one is kept. Every station gets both on its
   retained `config` topic (`site_key`, `site_key_prev`) and from then on sends the new
   pseudonym in `card` and the old one in the additive member `card_prev`. The cards the
   registry holds now are noted as "under the previous key".
2. Overlap: the gateway acks a tap as known if either pseudonym is known; the backend
   (`learn`, on every pairing run) reads the (card, card_prev) pairs of the taps and adds
   each new pseudonym to the registry for the old one's person, and notes old -> new.
   Visits are paired on the newest pseudonym (`successors`), so a visit whose arrival
   was sent under the old key and its leaving under the new one is still one visit.
3. `finish`: the stations get the new key alone. Old pseudonyms stay in the registry as
   aliases, so a station that has not yet heard of the new key (offline, or rebooted before
   its config came) still counts, and the person export finds the older points.

The key file (``backend.site_key_file``, JSON, mode 0600) holds the key, the previous key
during an overlap and a record of the rotations (with key fingerprints, never keys).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from backend.cleaning import need
from backend.registry import Registry
from pletfri.influx import Influx
from pletfri.settings import MqttSettings
from pletfri_fw import contract

log = logging.getLogger(__name__)

KEY_BYTES = 32
FORMAT = 1

# Cards under the previous key when a rotation started, and what each became. Created here
# on first use: only this module reads or writes it.
TABLE = """
CREATE TABLE IF NOT EXISTS site_key_cards (
    card TEXT PRIMARY KEY,
    successor TEXT,
    learned_ms INTEGER
)
"""


class SiteKeyError(Exception):
    pass


def fingerprint(key: bytes) -> str:
    """A short name for a key in logs and status output (not the key itself)."""
    return hashlib.sha256(b"pletfri-site-key" + key).hexdigest()[:12]


@dataclass
class Rotation:
    started_ms: int
    overlap_until_ms: int
    previous: str  # hex


@dataclass
class KeyFile:
    key: str  # hex
    rotation: Rotation | None = None
    history: list[dict[str, Any]] = field(default_factory=list)

    @property
    def key_bytes(self) -> bytes:
        return bytes.fromhex(self.key)

    def config(self) -> dict[str, str | None]:
        """The members of a station's retained `config` that carry its keys. Whoever
        publishes a station's config must include them: a config without them leaves the
        station on the key in its flash after a reboot."""
        return {
            "site_key": self.key,
            "site_key_prev": self.rotation.previous if self.rotation else None,
        }


def load(path: Path) -> KeyFile:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SiteKeyError(
            f"no site key at {path} (backend.site_key_file): make one with `pletfri site-key init`"
        ) from None
    except (OSError, ValueError) as e:
        raise SiteKeyError(f"{path}: cannot read the site key file: {e}") from None
    try:
        rot = raw.get("rotation")
        found = KeyFile(raw["key"], Rotation(**rot) if rot else None, raw.get("history", []))
        if not found.key_bytes:
            raise ValueError("the key is empty")
    except (KeyError, TypeError, ValueError) as e:
        raise SiteKeyError(
            f"{path}: not a site key file ({e}); restore it from the backup"
        ) from None
    return found


def save(path: Path, kf: KeyFile) -> None:
    """Written to a new file and renamed over the old one: a crash leaves one or the other."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".new")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump({"format": FORMAT, **asdict(kf)}, f, indent=2)
        f.write("\n")
    os.replace(tmp, path)


def init(path: Path, key: bytes | None = None) -> KeyFile:
    """This installation's first key: 32 random bytes, or the key an existing fleet was
    provisioned with (adopted as it is, however short; the first rotation replaces it)."""
    if path.exists():
        raise SiteKeyError(f"{path} exists: an installation has one site key; rotate it instead")
    if key is not None and not key:
        raise SiteKeyError("an adopted site key must not be empty")
    kf = KeyFile((key or secrets.token_bytes(KEY_BYTES)).hex())
    save(path, kf)
    return kf


def _table(registry: Registry) -> None:
    with registry.transaction() as db:
        db.execute(TABLE)


def _publish_config(mqtt: MqttSettings, registry: Registry, kf: KeyFile) -> int:
    payload = json.dumps(kf.config()).encode()
    items = [
        (contract.topic(d.device, contract.CONFIG), payload)
        for d in registry.placed_devices("station")
    ]
    try:
        return need.publish(mqtt, items)
    except need.NeedPublishError as e:
        raise SiteKeyError(f"the stations' config was not published: {e}") from None


def start(
    path: Path, registry: Registry, mqtt: MqttSettings, now_ms: int, overlap_days: float
) -> tuple[KeyFile, int]:
    """Begin a rotation; returns the key file and the stations told."""
    kf = load(path)
    if kf.rotation is not None:
        raise SiteKeyError(
            "a rotation is under way since "
            f"{kf.rotation.started_ms}; finish it first (`pletfri site-key finish`)"
        )
    if overlap_days <= 0:
        raise SiteKeyError("the overlap must be longer than 0 days")
    _table(registry)
    with registry.transaction() as db:
        # The cards known now are under the previous key; each waits for its successor.
        db.execute("INSERT OR IGNORE INTO site_key_cards (card) SELECT card FROM cards")
    old = kf.key
    kf.key = secrets.token_bytes(KEY_BYTES).hex()
    kf.rotation = Rotation(now_ms, now_ms + int(overlap_days * 86_400_000), old)
    save(path, kf)
    told = _publish_config(mqtt, registry, kf)
    log.info(
        "site key rotation started: %s -> %s, %d stations told, overlap until %d",
        fingerprint(bytes.fromhex(old)), fingerprint(kf.key_bytes), told,
        kf.rotation.overlap_until_ms,
    )  # fmt: skip
    return kf, told


def learn(registry: Registry, influx: Influx, since_ms: int, until_ms: int, now_ms: int) -> int:
    """New pseudonyms from the (card, card_prev) pairs of the taps in (since, until]: each
    joins the registry for the old pseudonym's person. Returns how many were new."""
    rows = influx.query(
        f"SELECT card, card_prev FROM tap WHERE time > {since_ms}ms AND time <= {until_ms}ms"
    )
    pairs = {(r["card"], r["card_prev"]) for r in rows if r.get("card_prev")}
    if not pairs:
        return 0
    _table(registry)
    learned = 0
    with registry.transaction() as db:
        owner = dict(db.execute("SELECT card, person FROM cards").fetchall())
        for new, old in sorted(pairs):
            person = owner.get(old)
            if person is None or new == old:
                continue  # a card the registry does not know under either key stays unknown
            if owner.get(new, person) != person:
                # Either a 1 in 2^64 collision or a forged pair: keep the first owner.
                log.warning("site key: %s already belongs to another person; pair ignored", new)
                continue
            if new not in owner:
                db.execute("INSERT INTO cards (card, person) VALUES (?, ?)", (new, person))
                owner[new] = person
                learned += 1
            db.execute(
                "INSERT INTO site_key_cards (card, successor, learned_ms) VALUES (?, ?, ?) "
                "ON CONFLICT (card) DO UPDATE SET successor = excluded.successor, "
                "learned_ms = excluded.learned_ms WHERE successor IS NULL",
                (old, new, now_ms),
            )
    if learned:
        log.info("site key: learned %d new card pseudonyms", learned)
    return learned


def successors(registry: Registry) -> dict[str, str]:
    """Each pseudonym that has a newer one -> the newest (chains of rotations followed)."""
    if not registry.query(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'site_key_cards'"
    ):
        return {}
    step = dict(
        registry.query("SELECT card, successor FROM site_key_cards WHERE successor IS NOT NULL")
    )
    out = {}
    for card in step:
        seen = {card}
        newest = step[card]
        while newest in step and newest not in seen:
            seen.add(newest)
            newest = step[newest]
        out[card] = newest
    return out


def pending(registry: Registry) -> list[tuple[str, str]]:
    """(card, person) of the cards under the previous key whose new pseudonym is not known."""
    _table(registry)
    return [
        (r["card"], r["person"])
        for r in registry.query(
            "SELECT s.card, c.person FROM site_key_cards s JOIN cards c ON c.card = s.card "
            "WHERE s.successor IS NULL ORDER BY c.person, s.card"
        )
    ]


def finish(
    path: Path,
    registry: Registry,
    influx: Influx,
    mqtt: MqttSettings,
    now_ms: int,
    export: Callable[[], object],
    force: bool = False,
) -> tuple[KeyFile, int, list[tuple[str, str]]]:
    """End the overlap: learn what the taps still teach, give the stations the new key alone.

    Refused while some card has not been tapped under both keys, unless `force`: such a
    card's holder then reads "unknown card" until the card is enrolled again. `export`
    writes the gateway's cards file, before the stations hear of it: the gateway must know
    the new pseudonyms before taps arrive without the old ones. Returns the key file, the
    stations told and those cards with their people.
    """
    kf = load(path)
    if kf.rotation is None:
        raise SiteKeyError("no rotation is under way; start one with `pletfri site-key rotate`")
    learn(registry, influx, kf.rotation.started_ms - 1, now_ms, now_ms)
    left = pending(registry)
    if left and not force:
        people = sorted({p for _, p in left})
        raise SiteKeyError(
            f"{len(left)} cards of {len(people)} people were not tapped during the overlap "
            f"({', '.join(people[:20])}{', ...' if len(people) > 20 else ''}): wait for them, "
            "or pass --force and enrol those cards again"
        )
    old = kf.rotation.previous
    kf.history.append({
        "started_ms": kf.rotation.started_ms,
        "finished_ms": now_ms,
        "previous": fingerprint(bytes.fromhex(old)),
        "key": fingerprint(kf.key_bytes),
        "cards_not_learned": len(left),
    })  # fmt: skip
    kf.rotation = None
    save(path, kf)
    with registry.transaction() as db:
        # Forgotten cards are re-enrolled by hand; they no longer wait for a successor.
        db.execute("DELETE FROM site_key_cards WHERE successor IS NULL")
    export()
    told = _publish_config(mqtt, registry, kf)
    log.info("site key rotation finished: %d stations told, %d cards not learned", told, len(left))
    return kf, told, left
