# MQTT 3.1.1 packets as pure functions (OASIS standard, section 3), so the device's
# client can be tested byte for byte and under the real MicroPython interpreter.
import struct

CONNECT = 0x10
CONNACK = 0x20
PUBLISH = 0x30
PUBACK = 0x40
SUBSCRIBE = 0x82  # fixed header flags 0010 are mandatory
SUBACK = 0x90
PINGREQ = 0xC0
PINGRESP = 0xD0
DISCONNECT = 0xE0

CONNACK_TEXT = {
    1: "unacceptable protocol version",
    2: "client id rejected",
    3: "server unavailable",
    4: "bad user name or password",
    5: "not authorised",
}


class ProtocolError(ValueError):
    pass


def _str(s):
    if isinstance(s, str):
        s = s.encode()
    return struct.pack("!H", len(s)) + s


def remaining_length(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | 0x80 if n else b)
        if not n:
            return bytes(out)


def _packet(first, body):
    return bytes([first]) + remaining_length(len(body)) + body


def connect(
    client_id,
    keepalive_s,
    clean=True,
    will_topic=None,
    will_payload=b"",
    will_retain=True,
    will_qos=1,
    user=None,
    password=None,
):
    flags = 0x02 if clean else 0
    payload = _str(client_id)
    if will_topic is not None:
        flags |= 0x04 | (will_qos << 3) | (0x20 if will_retain else 0)
        payload += _str(will_topic) + _str(will_payload)
    if user is not None:
        flags |= 0x80
        payload += _str(user)
        if password is not None:
            flags |= 0x40
            payload += _str(password)
    body = _str(b"MQTT") + bytes([4, flags]) + struct.pack("!H", keepalive_s) + payload
    return _packet(CONNECT, body)


def publish(topic, payload, qos=0, retain=False, pid=0, dup=False):
    first = PUBLISH | (qos << 1) | (1 if retain else 0) | (0x08 if dup else 0)
    body = _str(topic)
    if qos:
        body += struct.pack("!H", pid)
    return _packet(first, body + payload)


def puback(pid):
    return _packet(PUBACK, struct.pack("!H", pid))


def subscribe(pid, topics):
    """`topics`: a list of (topic filter, qos)."""
    body = struct.pack("!H", pid)
    for t, q in topics:
        body += _str(t) + bytes([q])
    return _packet(SUBSCRIBE, body)


def pingreq():
    return b"\xc0\x00"


def disconnect():
    return b"\xe0\x00"


def parse(buf):
    """Split one packet off the front of `buf`.

    Returns (type, flags, body, used) or None while the packet is incomplete.
    """
    if len(buf) < 2:
        return None
    n = 0
    shift = 0
    i = 1
    while True:
        if i >= len(buf):
            return None
        b = buf[i]
        n |= (b & 0x7F) << shift
        i += 1
        if not b & 0x80:
            break
        shift += 7
        if shift > 21:
            raise ProtocolError("remaining length longer than 4 bytes")
    if len(buf) < i + n:
        return None
    return buf[0] & 0xF0, buf[0] & 0x0F, bytes(buf[i : i + n]), i + n


def connack_code(body):
    if len(body) != 2:
        raise ProtocolError("CONNACK of %d bytes, expected 2" % len(body))
    return body[1]


def packet_id(body):
    if len(body) < 2:
        raise ProtocolError("packet too short for a packet id")
    return struct.unpack("!H", body[:2])[0]


def parse_publish(flags, body):
    """(topic, payload, qos, pid, retain) of an incoming PUBLISH."""
    if len(body) < 2:
        raise ProtocolError("PUBLISH too short")
    tlen = struct.unpack("!H", body[:2])[0]
    if len(body) < 2 + tlen:
        raise ProtocolError("PUBLISH topic runs past the packet")
    topic = body[2 : 2 + tlen].decode()
    qos = (flags >> 1) & 3
    if qos == 3:
        raise ProtocolError("PUBLISH with QoS 3")
    i = 2 + tlen
    pid = 0
    if qos:
        if len(body) < i + 2:
            raise ProtocolError("PUBLISH too short for its packet id")
        pid = struct.unpack("!H", body[i : i + 2])[0]
        i += 2
    return topic, body[i:], qos, pid, bool(flags & 1)
