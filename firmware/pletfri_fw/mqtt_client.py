# A small MQTT 3.1.1 client for the device: QoS 1 publish with PUBACK tracking,
# Last Will, keepalive pings, and a poll() that never waits for the network, so
# the main loop keeps reading cards and feeding the watchdog during an outage.
# umqtt.simple blocks in its PUBACK wait and umqtt.robust adds a fixed retry on
# top; mqtt_as needs asyncio. The uplink (uplink.py) owns resends and backoff.
#
# It is one implementation of the link interface the logic uses:
#   open(will_topic, will_payload, now_ms)  connect, or raise OSError
#   up()                                    connected?
#   publish(topic, payload, qos, retain)    -> packet id (0 for QoS 0), or OSError
#   subscribe(topic, qos)
#   poll(now_ms)                            read, keepalive; calls on_message(topic,
#                                           payload) and on_puback(pid)
#   close(clean)                            clean: DISCONNECT first, so no Last Will
import select
import socket

from pletfri_fw import mqtt_codec as codec


class Refused(OSError):
    pass


def tcp_connect(host, port, timeout_s):
    addr = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)[0][-1]
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout_s)
    try:
        s.connect(addr)
    except OSError:
        s.close()
        raise
    return s


def tls_connect(cadata):
    """A `connect` for MQTTClient that speaks TLS and checks the broker's certificate
    against `cadata` (the CA's certificate, DER) and the host name it was asked for."""
    import ssl

    def connect(host, port, timeout_s):
        raw = tcp_connect(host, port, timeout_s)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(cadata=cadata)
        try:
            return ctx.wrap_socket(raw, server_hostname=host)
        except OSError:  # ssl.SSLError is one on CPython; mbedtls raises OSError
            raw.close()
            raise

    return connect


def _send_of(s):
    # MicroPython's TLS socket is a stream: write(), no sendall().
    return getattr(s, "sendall", None) or s.write


def _recv_of(s):
    return getattr(s, "recv", None) or s.read


class MQTTClient:
    def __init__(
        self,
        host,
        port,
        client_id,
        user=None,
        password=None,
        keepalive_s=60,
        timeout_s=5,
        connect=tcp_connect,
    ):
        self.host = host
        self.port = port
        self.client_id = client_id
        self.user = user
        self.password = password
        self.keepalive_s = keepalive_s
        self.timeout_s = timeout_s
        self._connect = connect
        self.on_message = None
        self.on_puback = None
        self._sock = None
        self._poller = None
        self._buf = b""
        self._pid = 0
        self._sent_at = 0
        self._now = 0
        self._ping_at = None

    def up(self):
        return self._sock is not None

    def _next_pid(self):
        self._pid = self._pid % 65535 + 1
        return self._pid

    def _send(self, data):
        s = self._sock
        if s is None:
            raise OSError("not connected")
        try:
            _send_of(s)(data)
        except OSError:
            self.close(False)
            raise
        self._sent_at = self._now

    def open(self, will_topic, will_payload, now_ms):
        self.close(False)
        self._now = now_ms
        s = self._connect(self.host, self.port, self.timeout_s)
        self._sock = s
        self._buf = b""
        self._ping_at = None
        self._send(
            codec.connect(
                self.client_id,
                self.keepalive_s,
                True,
                will_topic,
                will_payload,
                True,
                1,
                self.user,
                self.password,
            )
        )
        # The CONNACK is awaited with the socket's timeout: the one blocking wait.
        pkt = None
        try:
            while pkt is None:
                chunk = _recv_of(s)(16)
                if not chunk:
                    raise OSError("broker closed the connection before CONNACK")
                self._buf += chunk
                pkt = codec.parse(self._buf)
        except OSError:
            self.close(False)
            raise
        kind, _, body, used = pkt
        self._buf = self._buf[used:]
        if kind != codec.CONNACK:
            self.close(False)
            raise OSError("expected CONNACK, got packet type 0x%02x" % kind)
        code = codec.connack_code(body)
        if code:
            self.close(False)
            raise Refused("broker refused the connection: %s" % codec.CONNACK_TEXT.get(code, code))
        self._poller = select.poll()
        self._poller.register(s, select.POLLIN)

    def publish(self, topic, payload, qos=1, retain=False):
        pid = self._next_pid() if qos else 0
        self._send(codec.publish(topic, payload, qos, retain, pid))
        return pid

    def subscribe(self, topics, qos=1):
        """One SUBSCRIBE for all `topics`: the broker reads one packet per connection per
        turn of its loop, so every packet saved shortens a reconnect storm."""
        self._send(codec.subscribe(self._next_pid(), [(t, qos) for t in topics]))

    def poll(self, now_ms):
        self._now = now_ms
        while True:
            s = self._sock
            poller = self._poller
            if s is None or poller is None:
                return  # closed while handling what came in
            # CPython's TLS socket holds decrypted bytes the poller cannot see (pending);
            # MicroPython's poll counts them itself.
            pending = getattr(s, "pending", None)
            if not (pending and pending()) and not poller.poll(0):
                break
            try:
                chunk = _recv_of(s)(512)
            except OSError:
                self.close(False)
                raise
            if not chunk:
                self.close(False)
                raise OSError("broker closed the connection")
            self._buf += chunk
            self._dispatch()
        self._keepalive(now_ms)

    def _dispatch(self):
        while True:
            pkt = codec.parse(self._buf)
            if pkt is None:
                return
            kind, flags, body, used = pkt
            self._buf = self._buf[used:]
            if kind == codec.PUBACK:
                if self.on_puback:
                    self.on_puback(codec.packet_id(body))
            elif kind == codec.PUBLISH:
                topic, payload, qos, pid, _ = codec.parse_publish(flags, body)
                if self.on_message:
                    self.on_message(topic, payload)
                if qos == 1:
                    self._send(codec.puback(pid))
            elif kind == codec.PINGRESP:
                self._ping_at = None

    def _keepalive(self, now_ms):
        ka = self.keepalive_s * 1000
        if self._ping_at is not None and now_ms - self._ping_at > ka:
            self.close(False)
            raise OSError("no PINGRESP within the keepalive")
        if self._ping_at is None and now_ms - self._sent_at >= ka // 2:
            self._send(codec.pingreq())
            self._ping_at = now_ms

    def close(self, clean=True):
        s = self._sock
        if s is None:
            return
        self._sock = None
        self._poller = None
        try:
            if clean:
                _send_of(s)(codec.disconnect())
        except OSError:
            pass  # going away anyway
        s.close()


def client_for(cfg):
    """The device's client from its provisioned config (pletfri_fw.config keys)."""
    return MQTTClient(
        cfg["host"],
        cfg["port"],
        cfg["device"],
        cfg["mqtt_user"],
        cfg["mqtt_password"],
        cfg["keepalive_s"],
        connect=tls_connect(cfg["ca_der"]) if cfg.get("tls") else tcp_connect,
    )
