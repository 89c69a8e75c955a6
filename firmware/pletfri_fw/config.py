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
    """(host, port) from mqtt://host[:port]."""
    if not url.startswith("mqtt://"):
        raise ConfigError("broker must look like mqtt://host:1883, got %r" % url)
    rest = url[7:].rstrip("/")
    if ":" in rest:
        host, port = rest.rsplit(":", 1)
        try:
            port = int(port)
        except ValueError:
            raise ConfigError("broker port must be a number, got %r" % port) from None
    else:
        host, port = rest, 1883
    if not host or not 0 < port < 65536:
        raise ConfigError("broker must look like mqtt://host:1883, got %r" % url)
    return host, port


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
