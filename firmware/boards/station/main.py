# Check-in station main loop: read the PN532 a few times a second, drive the
# logic with the time, feed the watchdog. All decisions live in pletfri_fw.station.
import binascii
import time

from pletfri_fw import config, pins
from pletfri_fw import hw_esp32 as hw
from pletfri_fw.backoff import Backoff
from pletfri_fw.clock import Clock
from pletfri_fw.feedback import Feedback
from pletfri_fw.mqtt_client import client_for
from pletfri_fw.osfs import OsFS
from pletfri_fw.pn532 import PN532
from pletfri_fw.pseudonym import Pseudonymiser
from pletfri_fw.station import Station
from pletfri_fw.store import Store
from pletfri_fw.uplink import Uplink

READ_EVERY_MS = 150


def halt(led, why):
    # A device that cannot work must say so where the installer looks: red light, REPL.
    print("pletfri: " + why)
    led.rgb(255, 0, 0)
    while True:
        time.sleep(60)


def make_reader(kind):
    """The card reader the config names; both have begin() and read_uid()."""
    if kind == "mfrc522":
        from pletfri_fw.mfrc522 import MFRC522

        q = pins.STATION_MFRC522
        hw.output(q["rc522_rst"], 1)
        cs = hw.output(q["rc522_cs"], 1)
        reader = MFRC522(hw.spi(q["spi_sck"], q["spi_mosi"], q["spi_miso"]), cs, time.sleep_ms)
    else:
        p = pins.STATION
        reader = PN532(hw.i2c(p["i2c_sda"], p["i2c_scl"]), time.sleep_ms)
    try:
        reader.begin()
    except (OSError, ValueError) as e:
        print("pletfri: %s not answering (%s); check hardware/wiring.md" % (kind, e))
    return reader


def main():
    ticks = hw.Ticks()
    p = pins.STATION
    led = hw.Led(p["led_r"], p["led_g"], p["led_b"])
    try:
        with open(config.PATH) as f:
            cfg = config.parse(f.read(), "nfc")
    except (OSError, config.ConfigError) as e:
        halt(led, "no usable config.json (%s); run pletfri device provision" % e)
        return
    wdt = hw.Watchdog(cfg["watchdog_ms"])
    reset = hw.reset_cause()
    wifi = hw.Wifi(cfg["wifi_ssid"], cfg["wifi_password"])
    store = Store(OsFS("q"), cfg["queue_max"])  # "q" is /q on the device
    store.begin_boot()
    link = client_for(cfg)
    seed = int(wifi.mac_hex()[-8:], 16)
    uplink = Uplink(cfg["device"], link, store, wifi, Backoff(1000, 120000, seed))
    clock = Clock()
    reader = make_reader(cfg.get("reader", "pn532"))

    def health(now_ms):
        return {
            "rssi": wifi.rssi(),
            "fw": config.FW_VERSION,
            "mem_free": hw.mem_free(),
            "reset": reset,
        }

    pseudo = Pseudonymiser(binascii.unhexlify(cfg["site_key"]))
    station = Station(uplink, clock, pseudo, Feedback(led, hw.Buzzer(p["buzzer"])), health)
    station.start(ticks.now_ms())
    next_read = 0
    next_ntp = 0
    while True:
        now = ticks.now_ms()
        wdt.feed()
        if now >= next_read:
            next_read = now + READ_EVERY_MS
            uid = reader.read_uid()
            if uid:
                station.card_read(uid, now)
        if now >= next_ntp and wifi.up():
            ok = hw.ntp_sync(clock, now, cfg["ntp_host"], cfg["ntp_port"])
            next_ntp = now + (6 * 3600000 if ok else 60000)
        station.poll(now)
        time.sleep_ms(10)


main()
