"""The stickers' AES keys, all derived from one installation master key (NXP AN10922).

Nothing but the master key is stored: each key is recomputed when needed, so a registry
export, a backup of the database or a programming sheet for one building never holds
more than what it shows. AN10922's AES-128 diversification is
``CMAC(master, 0x01 || M)`` with M of 16 to 31 bytes (the CMAC's own padding then equals
AN10922's padding to 32 bytes); it uses only AES, the tag's own primitive, and NXP's
tools and SAM key stores can do the same derivation (docs/stickers.md says why not HKDF).

Which key is per installation and which per tag follows from the SUN check's order:
the URL's PICCData must be decrypted before the UID is known, so the SDM meta read key is
one per installation; the SDM file read key (the CMAC) and the tag's other keys are per
tag, from its UID, so one tag's keys read out of a peeled-off sticker forge only that tag.
"""

from __future__ import annotations

from dataclasses import dataclass

from backend.stickers import sun

# NTAG 424 DNA application keys (AN12196) and what each is for on our stickers.
KEY_APP_MASTER = 0  # changes keys and file settings: per tag
KEY_FILE_READ = 1  # SDMFileRead: the CMAC's key, per tag
KEY_META_READ = 2  # SDMMetaRead: encrypts PICCData, per installation
KEY_SPARE_3 = 3  # unused by SDM; set to a per-tag key so that no factory key remains
KEY_SPARE_4 = 4
KEY_NUMBERS = (KEY_APP_MASTER, KEY_FILE_READ, KEY_META_READ, KEY_SPARE_3, KEY_SPARE_4)
# The NTAG 424 DNA application's ISO DF name's AID part, in AN10922's M.
AID = bytes.fromhex("010000")
SYSTEM = b"pletfri-ntag424"
# The key generation: it goes into every per-tag key and into each tap's `boot`, so
# re-keying a tag later gives new keys without touching the others.
GENERATION = 1


class MasterKeyError(ValueError):
    """A master key that cannot be used, worded for the person setting it."""


def parse_master_key(value: str | None) -> bytes:
    if not value:
        raise MasterKeyError(
            "no sticker master key: set stickers.master_key (32 hex characters, e.g. from "
            "`pletfri sticker new-master-key`) in the config file or PLETFRI_STICKERS__MASTER_KEY"
        )
    try:
        key = bytes.fromhex(value)
    except ValueError:
        raise MasterKeyError("stickers.master_key is not hexadecimal (32 hex characters)") from None
    if len(key) != sun.KEY_LEN:
        raise MasterKeyError(
            f"stickers.master_key has {len(key)} bytes; an AES-128 key has 16 (32 hex characters)"
        )
    return key


def _diversify(master: bytes, m: bytes) -> bytes:
    # AN10922 section 2.2: 16 < len(0x01 || M) <= 32 keeps CMAC's padding equal to its own.
    assert 15 <= len(m) <= 31
    return sun.cmac(master, b"\x01" + m)


def meta_read_key(master: bytes) -> bytes:
    """The installation's SDM meta read key: the same on every sticker."""
    return _diversify(master, b"sdm-meta-read" + AID + SYSTEM)


def tag_key(master: bytes, uid: bytes, number: int, generation: int = GENERATION) -> bytes:
    """Application key `number` (0..4) of the tag with `uid`; key 2 is the installation's."""
    if number == KEY_META_READ:
        return meta_read_key(master)
    if len(uid) != sun.UID_LEN or number not in KEY_NUMBERS:
        raise ValueError("a tag key needs a 7-byte UID and a key number 0..4")
    return _diversify(master, uid + AID + bytes([number, generation]) + SYSTEM[:11])


def file_read_key(master: bytes, uid: bytes, generation: int = GENERATION) -> bytes:
    return tag_key(master, uid, KEY_FILE_READ, generation)


@dataclass(frozen=True, slots=True)
class TagKeys:
    """The five keys an installer writes to one tag."""

    uid: bytes
    keys: tuple[bytes, ...]
    generation: int = GENERATION

    @classmethod
    def derive(cls, master: bytes, uid: bytes, generation: int = GENERATION) -> TagKeys:
        return cls(uid, tuple(tag_key(master, uid, n, generation) for n in KEY_NUMBERS), generation)
