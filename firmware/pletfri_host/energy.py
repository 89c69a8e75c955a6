"""The occupancy sensor's energy model: charge per phase and per day, battery life on 2 x AA.

Figures are datasheet values and published measurements (sources in docs/firmware.md),
not measured on our board; each is a named parameter so a bench measurement can replace it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Phase:
    name: str
    current_ma: float
    seconds: float
    per_day: float

    @property
    def mah_per_day(self) -> float:
        return self.current_ma * self.seconds * self.per_day / 3600


@dataclass(frozen=True)
class Model:
    # Usable charge of two alkaline AA cells (about 2,700 mAh each at a few mA, in series)
    # down to 1.8 V with a buck-boost regulator, less 15 % for cold and self-discharge.
    battery_mah: float = 2700 * 0.85
    sleep_ua: float = 12.6  # deep sleep 10 + PIR 1 + regulator 0.1 + divider 1.5
    radio_wakes_per_day: float = 24  # send_s = 3600
    boot_s: float = 0.25  # ROM + MicroPython start + imports, at 160 MHz
    boot_ma: float = 45
    wifi_join_s: float = 0.9  # association, WPA2, DHCP (static IP: about 0.4 s)
    wifi_join_ma: float = 115
    mqtt_s: float = 0.35  # TCP, CONNECT, NTP, 2 publishes with PUBACK, DISCONNECT
    mqtt_ma: float = 105
    pir_wake_s: float = 0.12  # boot.py's fast path: count and sleep again
    pir_wake_ma: float = 40
    pir_wakes_per_day: float = 2 * 180  # a PIR wake plus its hold-off re-arm per busy minute

    def phases(self) -> list[Phase]:
        n = self.radio_wakes_per_day
        return [
            Phase("deep sleep", self.sleep_ua / 1000, 86400, 1),
            Phase("boot (radio wake)", self.boot_ma, self.boot_s, n),
            Phase("Wi-Fi join", self.wifi_join_ma, self.wifi_join_s, n),
            Phase("MQTT send", self.mqtt_ma, self.mqtt_s, n),
            Phase("PIR wake (no radio)", self.pir_wake_ma, self.pir_wake_s, self.pir_wakes_per_day),
        ]

    def mah_per_day(self) -> float:
        return sum(p.mah_per_day for p in self.phases())

    def years(self) -> float:
        return self.battery_mah / self.mah_per_day() / 365.25


def table(model: Model) -> str:
    rows = ["| phase | current mA | time s | per day | mAh/day |", "|---|---:|---:|---:|---:|"]
    for p in model.phases():
        rows.append(
            f"| {p.name} | {p.current_ma:g} | {p.seconds:g} | {p.per_day:g} | {p.mah_per_day:.3f} |"
        )
    rows.append(f"| **total** | | | | **{model.mah_per_day():.3f}** |")
    return "\n".join(rows)
