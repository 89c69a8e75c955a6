# Card UID pseudonymisation (CONTRACT.md `tap.card`): the first 8 bytes of
# HMAC-SHA256(site key, UID), as 16 lowercase hex characters. The raw UID never
# leaves the station. HMAC is written out because MicroPython has no `hmac` module.
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
