# Card UID pseudonymisation (CONTRACT.md `tap.card`): the first 8 bytes of
# HMAC-SHA256(site key, UID), as 16 lowercase hex characters. The raw UID never
# leaves the station. HMAC is written out because MicroPython has no `hmac` module.
#
# Site-key rotation (docs/security.md): the platform's retained `config` carries
# `site_key` and, during the overlap, `site_key_prev`; the station then sends the
# pseudonym under the new key in `card` and the one under the previous key in
# `card_prev`, from which the platform learns that both belong to the same card.
import binascii
import hashlib

_BLOCK = 64


def _pad(key, byte):
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    out = bytearray(_BLOCK)
    for i in range(len(key)):
        out[i] = key[i] ^ byte
    for i in range(len(key), _BLOCK):
        out[i] = byte
    return bytes(out)


class Pseudonymiser:
    # The padded keys are computed once: each tap then costs two SHA-256 runs.
    def __init__(self, site_key):
        self._ipad = _pad(site_key, 0x36)
        self._opad = _pad(site_key, 0x5C)

    def card(self, uid):
        inner = hashlib.sha256(self._ipad)
        inner.update(uid)
        outer = hashlib.sha256(self._opad)
        outer.update(inner.digest())
        return binascii.hexlify(outer.digest()[:8]).decode()


KEY_MIN_BYTES = 16


def _key(text, min_bytes):
    # A hex key of at least min_bytes, else None (a bad config never replaces a good key).
    if not isinstance(text, str):
        return None
    try:
        key = binascii.unhexlify(text)
    except (ValueError, TypeError):
        return None
    return key if len(key) >= min_bytes else None


def keys_from_config(msg):
    """(key, previous key or None) from a `config` message, or None if it names no key.
    A new key must be strong; the previous one is whatever the fleet had (maybe shorter)."""
    key = _key(msg.get("site_key"), KEY_MIN_BYTES)
    if key is None:
        return None
    return key, _key(msg.get("site_key_prev"), 1)
