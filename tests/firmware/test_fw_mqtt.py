"""MQTT 3.1.1 packets byte for byte as the OASIS standard lays them out (section 3)."""

from __future__ import annotations

import pytest

from pletfri_fw import mqtt_codec as c


def test_connect_minimal() -> None:
    # 3.1: fixed header 10, remaining length 13; "MQTT", level 4, flags 02 (clean
    # session), keepalive 60; payload: client id "a".
    assert c.connect("a", 60) == bytes.fromhex("100d00044d5154540402003c000161")


def test_connect_with_will_and_credentials() -> None:
    pkt = c.connect("a", 30, True, "s", b"off", True, 1, "u", "p")
    # flags: user 80 | password 40 | will retain 20 | will QoS 1 08 | will 04 | clean 02
    assert pkt[9] == 0xEE
    assert pkt.endswith(bytes.fromhex("00016100017300036f6666000175000170"))


def test_publish_qos1_and_remaining_length() -> None:
    assert c.publish("a/b", b"hi", 1, False, 10) == bytes.fromhex("32090003612f62000a6869")
    assert c.publish("t", b"x", 0, True) == bytes.fromhex("310400017478")
    assert c.remaining_length(127) == b"\x7f"
    assert c.remaining_length(128) == b"\x80\x01"
    assert c.remaining_length(16383) == b"\xff\x7f"
    assert c.remaining_length(2097152) == b"\x80\x80\x80\x01"


def test_subscribe_puback_ping_disconnect() -> None:
    assert c.subscribe(2, [("a/+", 1)]) == bytes.fromhex("820800020003612f2b01")
    assert c.puback(10) == bytes.fromhex("4002000a")
    assert c.pingreq() == b"\xc0\x00"
    assert c.disconnect() == b"\xe0\x00"


def test_parse_stream_incomplete_and_errors() -> None:
    big = c.publish("t", b"x" * 300, 1, False, 5)
    for cut in (0, 1, 2, 3, len(big) - 1):
        assert c.parse(big[:cut]) is None
    kind, flags, body, used = c.parse(big + b"\xd0\x00")  # type: ignore[misc]
    assert (kind, flags, used) == (c.PUBLISH, 2, len(big))
    assert c.parse_publish(flags, body) == ("t", b"x" * 300, 1, 5, False)
    with pytest.raises(c.ProtocolError, match="longer than 4 bytes"):
        c.parse(b"\x30\xff\xff\xff\xff\x01")
    with pytest.raises(c.ProtocolError, match="QoS 3"):
        c.parse_publish(0x6, b"\x00\x01t")
    with pytest.raises(c.ProtocolError, match="topic runs past"):
        c.parse_publish(0x0, b"\x00\x09t")
    with pytest.raises(c.ProtocolError, match="expected 2"):
        c.connack_code(b"\x00")
    assert c.connack_code(b"\x00\x05") == 5 and c.CONNACK_TEXT[5] == "not authorised"
