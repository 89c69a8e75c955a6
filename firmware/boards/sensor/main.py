# Occupancy sensor. On batteries: a radio wake that sends the periods since the last
# wake and a heartbeat, disconnects cleanly and deep-sleeps (boot.py counts the PIR and
# door wakes in between). On mains (config "mains": true, e.g. with an LD2410 radar): the
# same logic in a loop that stays connected and counts by interrupt and from the radar.
# All decisions live in pletfri_fw.sensor.
import time

from pletfri_fw import config, pins
from pletfri_fw import hw_esp32 as hw
from pletfri_fw.backoff import Backoff
from pletfri_fw.clock import Clock
from pletfri_fw.mqtt_client import client_for
from pletfri_fw.osfs import OsFS
from pletfri_fw.sensor import Sensor
from pletfri_fw.store import Store
from pletfri_fw.uplink import Uplink

RETRY_SLEEP_MS = 3600000


def build(cfg, wifi, health, clock):
    store = Store(OsFS("q"), cfg["queue_max"])  # "q" is /q on the device
    link = client_for(cfg)
    seed = int(wifi.mac_hex()[-8:], 16)
    cap = 120000 if cfg.get("mains") else 4000
    uplink = Uplink(cfg["device"], link, store, wifi, Backoff(500, cap, seed))
    settings = {k: cfg[k] for k in ("period_s", "send_s") if k in cfg}
    return Sensor(uplink, clock, hw.RtcMemory(), health, settings)


def run_battery(cfg, wdt, reset):
    batt_mv = hw.Battery(pins.SENSOR["batt_adc"]).mv()  # before the radio loads the cells
    wifi = hw.Wifi(cfg["wifi_ssid"], cfg["wifi_password"])
    clock = Clock()

    def health(now_ms):
        return {
            "batt_mv": batt_mv,
            "rssi": wifi.rssi(),
            "fw": config.FW_VERSION,
            "mem_free": hw.mem_free(),
            "reset": reset,
        }

    sensor = build(cfg, wifi, health, clock)
    now = hw.rtc_now_ms()
    sensor.resume(now)
    if sensor.wake(now):
        synced = False
        while not sensor.done(now):
            wdt.feed()
            if not synced and wifi.up():
                synced = hw.ntp_sync(clock, now, cfg["ntp_host"], cfg["ntp_port"])
            sensor.poll(now)
            time.sleep_ms(5)
            now = hw.rtc_now_ms()
    ms = sensor.sleep(now)
    wifi.stop()
    hw.deep_sleep(ms, pins.SENSOR["pir"], pins.SENSOR["door"])


def run_mains(cfg, wdt, reset):
    from pletfri_fw import ld2410

    p = pins.SENSOR
    wifi = hw.Wifi(cfg["wifi_ssid"], cfg["wifi_password"])
    clock = Clock()
    ticks = hw.Ticks()

    def health(now_ms):
        return {
            "rssi": wifi.rssi(),
            "fw": config.FW_VERSION,
            "mem_free": hw.mem_free(),
            "reset": reset,
        }

    sensor = build(cfg, wifi, health, clock)
    sensor.uplink.birth = True  # always connected: `status` means something here
    pir = hw.PulseCounter(p["pir"])
    door = hw.PulseCounter(p["door"])
    uart = hw.uart(p["ld2410_tx"], p["ld2410_rx"])
    parser = ld2410.Parser()
    meter = ld2410.PresenceMeter()
    sensor.resume(ticks.now_ms())
    next_ntp = 0
    while True:
        now = ticks.now_ms()
        wdt.feed()
        data = uart.read()
        if data:
            for rep in parser.feed(data):
                meter.report(rep, now)
        n = pir.take()
        if n:
            sensor.pir(now, n)
        n = door.take()
        if n:
            sensor.door(now, n)
        s = meter.take_seconds()
        if s:
            sensor.presence(now, s)
        if now >= next_ntp and wifi.up():
            ok = hw.ntp_sync(clock, now, cfg["ntp_host"], cfg["ntp_port"])
            next_ntp = now + (6 * 3600000 if ok else 60000)
        sensor.wake(now)
        sensor.poll(now)
        time.sleep_ms(20)


def main():
    try:
        with open(config.PATH) as f:
            cfg = config.parse(f.read(), "occ")
    except (OSError, config.ConfigError) as e:
        print("pletfri: no usable config.json (%s); run pletfri device provision" % e)
        hw.deep_sleep(RETRY_SLEEP_MS)
        return
    wdt = hw.Watchdog(cfg["watchdog_ms"])
    reset = hw.reset_cause()
    if cfg.get("mains"):
        run_mains(cfg, wdt, reset)
    else:
        run_battery(cfg, wdt, reset)


main()
