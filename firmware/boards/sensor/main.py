# Occupancy sensor radio wake: count, send the periods since the last wake and a
# heartbeat, disconnect cleanly, deep-sleep. All decisions live in pletfri_fw.sensor.
import time

from pletfri_fw import config, pins
from pletfri_fw import hw_esp32 as hw
from pletfri_fw.backoff import Backoff
from pletfri_fw.clock import Clock
from pletfri_fw.mqtt_client import MQTTClient
from pletfri_fw.osfs import OsFS
from pletfri_fw.sensor import Sensor
from pletfri_fw.store import Store
from pletfri_fw.uplink import Uplink

RETRY_SLEEP_MS = 3600000


def main():
    p = pins.SENSOR
    try:
        with open(config.PATH) as f:
            cfg = config.parse(f.read(), "occ")
    except (OSError, config.ConfigError) as e:
        print("pletfri: no usable config.json (%s); run pletfri device provision" % e)
        hw.deep_sleep(RETRY_SLEEP_MS)
        return
    wdt = hw.Watchdog(cfg["watchdog_ms"])
    reset = hw.reset_cause()
    battery = hw.Battery(p["batt_adc"])
    batt_mv = battery.mv()  # before the radio loads the cells
    wifi = hw.Wifi(cfg["wifi_ssid"], cfg["wifi_password"])
    store = Store(OsFS("/q"), cfg["queue_max"])
    link = MQTTClient(
        cfg["host"],
        cfg["port"],
        cfg["device"],
        cfg["mqtt_user"],
        cfg["mqtt_password"],
        cfg["keepalive_s"],
    )
    uplink = Uplink(
        cfg["device"], link, store, wifi, Backoff(500, 4000, int(wifi.mac_hex()[-8:], 16))
    )
    clock = Clock()

    def health(now_ms):
        return {
            "batt_mv": batt_mv,
            "rssi": wifi.rssi(),
            "fw": config.FW_VERSION,
            "mem_free": hw.mem_free(),
            "reset": reset,
        }

    settings = {k: cfg[k] for k in ("period_s", "send_s") if k in cfg}
    sensor = Sensor(uplink, clock, hw.RtcMemory(), health, settings)
    now = hw.rtc_now_ms()
    sensor.resume(now)
    if sensor.wake(now):
        synced = False
        while not sensor.done(now):
            wdt.feed()
            if not synced and wifi.up():
                synced = hw.ntp_sync(clock, now, cfg["ntp_host"])
            sensor.poll(now)
            time.sleep_ms(5)
            now = hw.rtc_now_ms()
    ms = sensor.sleep(now)
    wifi.stop()
    hw.deep_sleep(ms, p["pir"])


main()
