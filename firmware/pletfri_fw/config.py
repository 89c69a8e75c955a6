# The device's config file (/config.json), written by `pletfri device provision`.
# Checked once at boot, with a message that says what is wrong: a station with a
# bad config stays in its error light instead of half working.
import binascii
import json

FW_VERSION = "1.0.0"
PATH = "config.json"
REQUIRED = ("device", "wifi_ssid", "wifi_password", "broker")
READERS = ("pn532", "mfrc522")
DEFAULTS = {
    "mqtt_user": None,
    "mqtt_password": None,
    "ca_pem": None,  # the broker's CA, for an mqtts:// broker
    "keepalive_s": 60,
    "ntp_host": "pool.ntp.org",
    "ntp_port": 123,
    "site_key": None,  # hex; required for stations
    "watchdog_ms": 30000,
    "queue_max": 500,
}


class ConfigError(ValueError):
    pass


def parse_broker(url):
    """(host, port) from mqtt://host[:port] or, over TLS, mqtts://host[:port]."""
    tls = url.startswith("mqtts://")
    if not (tls or url.startswith("mqtt://")):
        raise ConfigError("broker must look like mqtt://host:1883, got %r" % url)
    rest = url[8 if tls else 7 :].rstrip("/")
    if ":" in rest:
        host, port = rest.rsplit(":", 1)
        try:
            port = int(port)
        except ValueError:
            raise ConfigError("broker port must be a number, got %r" % port) from None
    else:
        host, port = rest, 8883 if tls else 1883
    if not host or not 0 < port < 65536:
        raise ConfigError("broker must look like mqtt://host:1883, got %r" % url)
    return host, port


def pem_to_der(pem):
    """The first certificate of a PEM text as DER bytes (MicroPython's TLS takes DER)."""
    begin = pem.find("-----BEGIN CERTIFICATE-----")
    end = pem.find("-----END CERTIFICATE-----")
    if begin < 0 or end < begin:
        raise ValueError("no PEM certificate")
    body = pem[begin + 27 : end].replace("\r", "").replace("\n", "").replace(" ", "")
    try:
        return binascii.a2b_base64(body)
    except Exception:
        raise ValueError("PEM certificate is not base64") from None


def parse(text, kind=None):
    """The config as a dict with defaults filled in; ConfigError says what is wrong."""
    from pletfri_fw import contract

    try:
        cfg = json.loads(text)
    except ValueError:
        raise ConfigError("config.json is not valid JSON; provision the device again") from None
    if not isinstance(cfg, dict):
        raise ConfigError("config.json must hold a JSON object")
    for k in REQUIRED:
        if not cfg.get(k):
            raise ConfigError("config.json lacks %r; provision the device again" % k)
    if not contract.valid_device(cfg["device"]):
        raise ConfigError("device id %r breaks %s" % (cfg["device"], contract.DEVICE_PATTERN))
    out = dict(DEFAULTS)
    out.update(cfg)
    out["host"], out["port"] = parse_broker(cfg["broker"])
    out["tls"] = cfg["broker"].startswith("mqtts://")
    if out["tls"]:
        try:
            out["ca_der"] = pem_to_der(out.get("ca_pem") or "")
        except ValueError:
            raise ConfigError(
                "an mqtts:// broker needs ca_pem: the PEM certificate of the CA that signed "
                "the broker's certificate (pletfri device provision --ca-file)"
            ) from None
    if out.get("reader", "pn532") not in READERS:
        raise ConfigError("reader must be one of %s, got %r" % (", ".join(READERS), out["reader"]))
    if kind == contract.KIND_STATION or cfg["device"].startswith(contract.KIND_STATION + "-"):
        key = out.get("site_key")
        try:
            if not key or len(binascii.unhexlify(key)) < 16:
                raise ValueError
        except ValueError:
            raise ConfigError("a station needs site_key: at least 32 hex characters") from None
    return out
