# The ESP32 hardware layer: the only flashed module besides the board mains that
# imports machine, network and esp32. Each class is a few methods the logic (or
# the board's main.py) calls; pletfri_host has the CPython counterparts.
import socket
import time

import esp32
import machine
import network

from pletfri_fw import clock as clk

RESET_CAUSES = {
    machine.PWRON_RESET: "power_on",
    machine.HARD_RESET: "hard",
    machine.WDT_RESET: "watchdog",
    machine.DEEPSLEEP_RESET: "deep_sleep",
    machine.SOFT_RESET: "soft",
}


def reset_cause():
    return RESET_CAUSES.get(machine.reset_cause(), "other")


class Ticks:
    """Milliseconds since boot that never wrap (ticks_ms wraps after ~12 days)."""

    def __init__(self):
        self._last = time.ticks_ms()
        self._ms = 0

    def now_ms(self):
        t = time.ticks_ms()
        self._ms += time.ticks_diff(t, self._last)
        self._last = t
        return self._ms


def rtc_now_ms():
    # The RTC keeps counting through deep sleep (from 2000 at power-on): the
    # sensor's time base. Never sent as is; Clock turns it into Unix ms.
    return time.time_ns() // 1000000


class Wifi:
    def __init__(self, ssid, password):
        self.ssid = ssid
        self.password = password
        self.wlan = network.WLAN(network.STA_IF)
        self.wlan.active(True)

    def up(self):
        return self.wlan.isconnected()

    def start(self):
        # The uplink calls this after each backoff while Wi-Fi is down. An association
        # still under way is left alone; anything else (failed, lost) starts afresh.
        if self.wlan.status() == network.STAT_CONNECTING:
            return
        try:
            self.wlan.disconnect()
        except OSError:
            pass
        self.wlan.connect(self.ssid, self.password)

    def stop(self):
        self.wlan.disconnect()
        self.wlan.active(False)

    def rssi(self):
        try:
            return self.wlan.status("rssi")
        except OSError:
            return None

    def mac_hex(self):
        return "".join("%02x" % b for b in self.wlan.config("mac"))


class RtcMemory:
    def __init__(self):
        self.rtc = machine.RTC()

    def read(self):
        return self.rtc.memory()

    def write(self, data):
        self.rtc.memory(data)


class Led:
    def __init__(self, r, g, b):
        self.pwm = [machine.PWM(machine.Pin(p), freq=1000, duty_u16=0) for p in (r, g, b)]

    def rgb(self, r, g, b):
        for pwm, v in zip(self.pwm, (r, g, b)):
            pwm.duty_u16(v * 257)


class Buzzer:
    def __init__(self, pin, freq=2700):
        self.pwm = machine.PWM(machine.Pin(pin), freq=freq, duty_u16=0)

    def on(self):
        self.pwm.duty_u16(32768)

    def off(self):
        self.pwm.duty_u16(0)


class Watchdog:
    def __init__(self, timeout_ms):
        self.wdt = machine.WDT(timeout=timeout_ms)

    def feed(self):
        self.wdt.feed()


class Battery:
    def __init__(self, pin, ratio=2):
        self.adc = machine.ADC(machine.Pin(pin), atten=machine.ADC.ATTN_11DB)
        self.ratio = ratio  # the divider

    def mv(self):
        return self.adc.read_uv() * self.ratio // 1000


class PulseCounter:
    """Rising edges on a pin while awake, counted by interrupt without allocating."""

    def __init__(self, pin):
        self.count = 0
        self.pin = machine.Pin(pin, machine.Pin.IN)
        self.pin.irq(trigger=machine.Pin.IRQ_RISING, handler=self._edge)

    def _edge(self, _pin):
        self.count += 1

    def take(self):
        state = machine.disable_irq()
        n = self.count
        self.count = 0
        machine.enable_irq(state)
        return n


def i2c(sda, scl):
    return machine.I2C(0, sda=machine.Pin(sda), scl=machine.Pin(scl), freq=100000)


def spi(sck, mosi, miso):
    return machine.SPI(
        2, baudrate=1000000, sck=machine.Pin(sck), mosi=machine.Pin(mosi), miso=machine.Pin(miso)
    )


def output(pin, value):
    p = machine.Pin(pin, machine.Pin.OUT)
    p.value(value)
    return p


def uart(tx, rx):
    return machine.UART(2, baudrate=256000, tx=tx, rx=rx, timeout=0)


def ntp_sync(clock, now_ms, host, port=123, timeout_s=2):
    """One SNTP exchange; True if `clock` now has Unix time."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.settimeout(timeout_s)
        s.sendto(clk.ntp_request(), socket.getaddrinfo(host, port)[0][-1])
        unix = clk.ntp_unix_ms(s.recv(48))
    except OSError:
        return False
    finally:
        s.close()
    if unix is None:
        return False
    clock.sync(now_ms, unix)
    return True


def mem_free():
    import gc

    gc.collect()
    return gc.mem_free()


def deep_sleep(ms, pir_pin=None, door_pin=None):
    """Sleep `ms`; a high level on the PIR pin (ext0) or the door contact opening
    (ext1, reed to GND with pull-up) wakes earlier. Without pins only the timer wakes."""
    if pir_pin is not None:
        esp32.wake_on_ext0(machine.Pin(pir_pin, machine.Pin.IN), esp32.WAKEUP_ANY_HIGH)
    else:
        esp32.wake_on_ext0(None, esp32.WAKEUP_ANY_HIGH)
    if door_pin is not None:
        pin = machine.Pin(door_pin, machine.Pin.IN, machine.Pin.PULL_UP)
        esp32.wake_on_ext1((pin,), esp32.WAKEUP_ANY_HIGH)
    else:
        esp32.wake_on_ext1(None, esp32.WAKEUP_ANY_HIGH)
    machine.deepsleep(max(1, ms))


def woke_by():
    """ "pir" or "door" for a wake by those pins, else None (timer, reset)."""
    reason = machine.wake_reason()
    if reason == machine.EXT0_WAKE:
        return "pir"
    if reason == machine.EXT1_WAKE:
        return "door"
    return None
