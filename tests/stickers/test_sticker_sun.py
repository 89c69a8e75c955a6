"""SUN messages (AN12196) and the sticker keys (AN10922), without servers.

The vectors are NXP AN12196's worked example of a SUN message with encrypted PICCData
(page 12, as reproduced in public SDM verifiers): URL
``https://ntag.nxp.com/424?e=EF963FF7828658A599F3041510671E88&c=94EED9EE65337086``, both
SDM keys all zero.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.stickers import keys, sun

ZERO = bytes(16)
AN_PICC = "EF963FF7828658A599F3041510671E88"
AN_CMAC = "94EED9EE65337086"
AN_UID = bytes.fromhex("04DE5F1EACC040")
AN_COUNTER = 61  # SDMReadCtr 3D0000, least significant byte first
AN_PLAIN = "C704DE5F1EACC0403D0000DA5CF60941"
AN_SV2 = "3CC30001008004DE5F1EACC0403D0000"
AN_SESSION_KEY = "3FB5F6E3A807A03D5E3570ACE393776F"
AN_FULL_CMAC = "E194C7EE12D9F7EE8A65C8331B704386"


def zero_key(uid: bytes) -> bytes:
    return ZERO


def test_an12196_picc_data_decrypts_to_uid_and_counter() -> None:
    picc = sun.decrypt_picc(ZERO, AN_PICC)
    assert picc.uid == AN_UID and picc.counter == AN_COUNTER


def test_an12196_session_key_full_and_truncated_cmac() -> None:
    assert sun.SV2_PREFIX + AN_UID + AN_COUNTER.to_bytes(3, "little") == bytes.fromhex(AN_SV2)
    session = sun.session_mac_key(ZERO, AN_UID, AN_COUNTER)
    assert session.hex().upper() == AN_SESSION_KEY
    assert sun.cmac(session, b"").hex().upper() == AN_FULL_CMAC
    assert sun.sdm_mac(ZERO, AN_UID, AN_COUNTER).hex().upper() == AN_CMAC


def test_an12196_url_verifies() -> None:
    picc = sun.verify(ZERO, zero_key, AN_PICC, AN_CMAC)
    assert (picc.uid_hex, picc.counter) == ("04de5f1eacc040", 61)
    # A phone may lower-case the URL: hex is hex.
    assert sun.verify(ZERO, zero_key, AN_PICC.lower(), AN_CMAC.lower()) == picc


def test_emulated_tag_gives_the_an12196_url() -> None:
    tail = bytes.fromhex(AN_PLAIN)[11:]
    assert sun.emulate(ZERO, ZERO, AN_UID, AN_COUNTER, tail) == (AN_PICC, AN_CMAC)


@pytest.mark.parametrize(
    ("picc", "cmac", "error", "words"),
    [
        (None, AN_CMAC, sun.Malformed, "no picc"),
        (AN_PICC, "", sun.Malformed, "no cmac"),
        (AN_PICC[:-2], AN_CMAC, sun.Malformed, "picc is truncated"),
        (AN_PICC, AN_CMAC[:9], sun.Malformed, "cmac is truncated"),
        (AN_PICC + "00", AN_CMAC, sun.Malformed, "picc is too long"),
        (AN_PICC[:-1] + "G", AN_CMAC, sun.Malformed, "not hexadecimal"),
        (AN_PICC, " " + AN_CMAC[1:], sun.Malformed, "not hexadecimal"),
        (AN_PICC, "ÆØÅ" + AN_CMAC[3:], sun.Malformed, "not hexadecimal"),
        (AN_PICC, AN_CMAC[:-1] + "7", sun.Forged, "CMAC does not match"),
        ("00" + AN_PICC[2:], AN_CMAC, sun.Forged, "does not decrypt"),
        # One ciphertext byte changed garbles the whole block (AES), not one plaintext byte.
        (AN_PICC[:-2] + "00", AN_CMAC, sun.Forged, "does not decrypt"),
    ],
)
def test_bad_urls_raise_typed_errors(
    picc: str | None, cmac: str, error: type[sun.SunError], words: str
) -> None:
    with pytest.raises(error, match=words):
        sun.verify(ZERO, zero_key, picc, cmac)


def test_another_installations_tag_is_forged() -> None:
    with pytest.raises(sun.Forged):
        sun.verify(bytes([1]) * 16, zero_key, AN_PICC, AN_CMAC)


def test_a_tag_we_do_not_know_is_unknown_not_forged() -> None:
    with pytest.raises(sun.UnknownTag) as caught:
        sun.verify(ZERO, lambda uid: None, AN_PICC, AN_CMAC)
    assert caught.value.picc.uid == AN_UID


@given(st.text(max_size=40), st.text(max_size=40))
def test_no_input_escapes_as_anything_but_a_sun_error(picc: str, cmac: str) -> None:
    # Random text is never a valid message; what matters is the error's type.
    with pytest.raises(sun.SunError):
        sun.verify(ZERO, zero_key, picc, cmac)


@given(st.binary(min_size=7, max_size=7), st.integers(0, sun.COUNTER_MAX))
def test_emulated_urls_verify_with_derived_keys(uid: bytes, counter: int) -> None:
    master = bytes(range(16))
    meta, file_key = keys.meta_read_key(master), keys.file_read_key(master, uid)
    picc, cmac = sun.emulate(meta, file_key, uid, counter)
    got = sun.verify(meta, lambda u: keys.file_read_key(master, u), picc, cmac)
    assert (got.uid, got.counter) == (uid, counter)


def test_keys_meta_read_per_installation_the_others_per_tag() -> None:
    master = bytes(range(16))
    a, b = bytes.fromhex("04000000000001"), bytes.fromhex("04000000000002")
    ka, kb = keys.TagKeys.derive(master, a), keys.TagKeys.derive(master, b)
    assert ka.keys[keys.KEY_META_READ] == kb.keys[keys.KEY_META_READ]
    for n in (0, 1, 3, 4):
        assert ka.keys[n] != kb.keys[n]
    assert len(set(ka.keys)) == 5 and all(len(k) == 16 for k in ka.keys)
    # Another master key: nothing in common.
    other = keys.TagKeys.derive(bytes(16), a)
    assert not set(other.keys) & set(ka.keys)
    # Another key generation: new per-tag keys, the same installation key.
    regen = keys.TagKeys.derive(master, a, generation=2)
    assert regen.keys[1] != ka.keys[1] and regen.keys[2] == ka.keys[2]


def test_an10922_diversification_is_cmac_of_0x01_and_m() -> None:
    # AN10922's AES-128 case pads 0x01 || M (16 < length < 32) to 32 bytes with 80 00..
    # and uses CMAC subkey K2 on the last block: for these lengths that is plain CMAC.
    master = bytes(range(16))
    uid = bytes.fromhex("04DE5F1EACC040")
    m = uid + keys.AID + bytes([1, 1]) + keys.SYSTEM[:11]
    assert 16 < 1 + len(m) < 32
    assert keys.file_read_key(master, uid) == sun.cmac(master, b"\x01" + m)


@pytest.mark.parametrize(
    ("value", "words"),
    [(None, "no sticker master key"), ("xyz", "not hexadecimal"), ("00" * 8, "has 8 bytes")],
)
def test_bad_master_keys_are_explained(value: str | None, words: str) -> None:
    with pytest.raises(keys.MasterKeyError, match=words):
        keys.parse_master_key(value)
