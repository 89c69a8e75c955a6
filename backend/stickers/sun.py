"""SUN messages of an NTAG 424 DNA (NXP AN12196, Secure Dynamic Messaging, AES mode).

The tag is programmed (docs/stickers.md) to mirror two values into its URL on every read:

- ``picc``: PICCData encrypted with the SDM meta read key, AES-128-CBC with a zero IV:
  one block, ``PICCDataTag (0xC7: UID and counter mirrored, UID of 7 bytes) || UID (7) ||
  SDMReadCtr (3, least significant byte first) || 5 random bytes``;
- ``cmac``: the SDMMAC, the odd-indexed bytes (1, 3, ..., 15) of the AES-CMAC, under the
  session key ``CMAC(file read key, SV2)``, of the bytes between SDMMACInputOffset and
  the MAC. Our stickers put both offsets at the MAC itself, so that input is empty.

SV2 is ``3C C3 00 01 00 80 || UID || SDMReadCtr``. Every check raises a subclass of
`SunError`; nothing else leaves this module for any input.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.cmac import CMAC

KEY_LEN = 16
UID_LEN = 7
PICC_HEX_LEN = 32
CMAC_HEX_LEN = 16
# PICCDataTag: bit 7 UID mirrored, bit 6 SDMReadCtr mirrored, bits 3..0 the UID length.
PICC_DATA_TAG = 0xC7
SV2_PREFIX = bytes.fromhex("3CC300010080")
COUNTER_MAX = 0xFFFFFF
_HEX = frozenset("0123456789abcdefABCDEF")
_ZERO_IV = bytes(16)


class SunError(Exception):
    """A SUN message that is not accepted; `reason` is a short stable code."""

    reason = "sun_error"


class Malformed(SunError):
    """Not a SUN message at all: missing, truncated, too long or not hex."""

    reason = "malformed"


class Forged(SunError):
    """Well formed but not made by a tag with our keys (or altered on the way)."""

    reason = "forged"


@dataclass(frozen=True, slots=True)
class PiccData:
    uid: bytes
    counter: int

    @property
    def uid_hex(self) -> str:
        return self.uid.hex()


# A tag's own SDM file read key by its UID; None for a tag that is not ours.
FileKey = Callable[[bytes], bytes | None]


def cmac(key: bytes, data: bytes) -> bytes:
    """AES-CMAC (NIST SP 800-38B) of `data` under the 16-byte `key`."""
    c = CMAC(algorithms.AES(key))
    c.update(data)
    return c.finalize()


def _aes_cbc(key: bytes, block: bytes, encrypt: bool) -> bytes:
    cipher = Cipher(algorithms.AES(key), modes.CBC(_ZERO_IV))
    op = cipher.encryptor() if encrypt else cipher.decryptor()
    return op.update(block) + op.finalize()


def session_mac_key(file_read_key: bytes, uid: bytes, counter: int) -> bytes:
    """KSesSDMFileReadMAC = CMAC(SDM file read key, SV2)."""
    sv2 = SV2_PREFIX + uid + counter.to_bytes(3, "little")
    return cmac(file_read_key, sv2)


def sdm_mac(file_read_key: bytes, uid: bytes, counter: int, mac_input: bytes = b"") -> bytes:
    """The 8-byte SDMMAC: the odd-indexed bytes of the full CMAC."""
    full = cmac(session_mac_key(file_read_key, uid, counter), mac_input)
    return full[1::2]


def _hex(value: str | None, name: str, length: int) -> bytes:
    if value is None or value == "":
        raise Malformed(f"the URL has no {name} parameter")
    if len(value) != length:
        what = "truncated" if len(value) < length else "too long"
        raise Malformed(f"{name} is {what}: {len(value)} characters, a tag sends {length}")
    if not _HEX.issuperset(value):
        raise Malformed(f"{name} is not hexadecimal")
    return bytes.fromhex(value)


class UnknownTag(SunError):
    """Decrypted with our meta read key, but the UID is not a sticker we know."""

    reason = "unknown_tag"

    def __init__(self, picc: PiccData) -> None:
        super().__init__(f"tag {picc.uid_hex} is not in the registry")
        self.picc = picc


def decrypt_picc(meta_read_key: bytes, picc_hex: str | None) -> PiccData:
    """UID and read counter from the encrypted PICCData; Forged if it does not decrypt
    to our layout (a wrong key or altered bytes give a random-looking block)."""
    block = _aes_cbc(meta_read_key, _hex(picc_hex, "picc", PICC_HEX_LEN), encrypt=False)
    if block[0] != PICC_DATA_TAG:
        raise Forged("the PICCData does not decrypt with this installation's meta read key")
    return PiccData(block[1 : 1 + UID_LEN], int.from_bytes(block[8:11], "little"))


def verify(
    meta_read_key: bytes, file_read_key_for: FileKey, picc_hex: str | None, cmac_hex: str | None
) -> PiccData:
    """Decrypt and authenticate one SUN message; raise Malformed or Forged.

    `file_read_key_for(uid)` gives the tag's own SDM file read key, or None for a UID
    that is not one of our stickers (UnknownTag: it decrypted with the installation's
    meta read key, so it is probably ours but not yet bound to a room).
    """
    mac = _hex(cmac_hex, "cmac", CMAC_HEX_LEN)
    picc = decrypt_picc(meta_read_key, picc_hex)
    key = file_read_key_for(picc.uid)
    if key is None:
        raise UnknownTag(picc)
    if not hmac.compare_digest(sdm_mac(key, picc.uid, picc.counter), mac):
        raise Forged("the CMAC does not match the tag's key: a forged or altered URL")
    return picc


def emulate(
    meta_read_key: bytes,
    file_read_key: bytes,
    uid: bytes,
    counter: int,
    random_tail: bytes | None = None,
) -> tuple[str, str]:
    """What a tag mirrors on one read: (picc, cmac) as uppercase hex, as the tag writes them.

    For the simulator and the tests; `random_tail` (5 bytes) fixes the padding the tag
    draws at random.
    """
    if len(uid) != UID_LEN or not 0 <= counter <= COUNTER_MAX:
        raise ValueError("a tag has a 7-byte UID and a 24-bit counter")
    tail = random_tail if random_tail is not None else os.urandom(5)
    block = bytes([PICC_DATA_TAG]) + uid + counter.to_bytes(3, "little") + tail
    picc = _aes_cbc(meta_read_key, block, encrypt=True)
    return picc.hex().upper(), sdm_mac(file_read_key, uid, counter).hex().upper()
