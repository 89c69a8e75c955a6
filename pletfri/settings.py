"""One typed settings model for every part: a TOML file, then environment variables.

Precedence (highest first): environment variables (``PLETFRI_<SECTION>__<KEY>``),
the TOML file (``--config`` or ``PLETFRI_CONFIG``), the defaults below.
docs/configuration.md lists every key; ``pletfri config show`` prints the result.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict


class ConfigError(Exception):
    """A configuration problem, worded for the person who has to fix it."""


class Section(BaseModel):
    # A misspelt key must fail loudly, not fall back to a default in silence.
    model_config = ConfigDict(extra="forbid")


class MqttSettings(Section):
    host: str = "127.0.0.1"
    port: int = Field(1883, ge=1, le=65535)
    username: str | None = None
    password: str | None = None
    # TLS with the server's certificate verified (chain and host name) against ca_file,
    # or against the system's CAs when ca_file is not set (a Let's Encrypt certificate).
    tls: bool = False
    ca_file: Path | None = None
    keepalive_s: int = Field(30, ge=5, le=3600)


class InfluxSettings(Section):
    url: str = "http://127.0.0.1:8086"
    database: str = "pletfri"
    username: str | None = None
    password: str | None = None
    # InfluxDB 2.x/3.x v1-compatibility API: sent as "Authorization: Token ...".
    token: str | None = None
    timeout_s: float = Field(10.0, gt=0)


class GatewaySettings(Section):
    client_id: str = "pletfri-gateway-1"
    # Empty: a plain subscription. A name: $share/<name>/... so several gateways split the load.
    shared_group: str = ""
    session_expiry_s: int = Field(3600, ge=0)
    # Taps on an MQTT session of their own (client id <client_id>-taps), committed first,
    # and their acks out on a connection of their own (<client_id>-acks), so a tap's ack
    # does not wait behind a backlog of other messages.
    tap_lane: bool = True
    # A tap older than this (by its own clock-synced `ts`) is stored but not answered: its
    # station stopped waiting long ago (ack_timeout_ms) and ignores the ack. Spares the
    # broker thousands of acks the morning after an outage.
    ack_max_age_s: int = Field(60, ge=1)
    registry_file: Path = Path("run/registry/devices.csv")
    # Card pseudonyms and roles; a tap with a card not listed is acked "unknown_card".
    # None: cards.csv next to registry_file.
    cards_file: Path | None = None
    state_dir: Path = Path("run/gateway")
    batch_lines: int = Field(5000, ge=1)
    batch_interval_s: float = Field(1.0, gt=0)
    spool_max_mb: int = Field(512, ge=1)
    # Warn (log and gateway.spool_alarm) when the spool is this full.
    spool_alarm_pct: int = Field(80, ge=1, le=100)
    # fsync each spool commit: survives a power cut, not only a crash of the process.
    spool_fsync: bool = True
    # Longest wait between InfluxDB write retries (the backoff doubles up to this).
    retry_max_s: float = Field(30.0, gt=0)
    # QoS 1 messages the broker may have in flight to the gateway before it waits for acks.
    receive_maximum: int = Field(2000, ge=1, le=65535)
    # Per device, seqs remembered behind the highest one, and boots remembered.
    dedup_window: int = Field(1024, ge=64, le=65536)
    dedup_boots: int = Field(4, ge=1, le=64)
    deadletter_excerpt: int = Field(200, ge=0, le=1024)
    stats_interval_s: float = Field(10.0, gt=0)
    # A sleeping sensor that has not been heard from for this long is marked offline.
    last_seen_timeout_s: int = Field(7200, ge=60)


class BackendSettings(Section):
    database_file: Path = Path("run/backend/registry.sqlite")
    api_host: str = "127.0.0.1"
    api_port: int = Field(8000, ge=1, le=65535)
    timezone: str = "Europe/Copenhagen"
    # Person-level visit data older than this is deleted; aggregates are kept.
    retention_days: int = Field(90, ge=1)
    # The installation's site key for card pseudonyms and its rotation (docs/security.md).
    site_key_file: Path = Path("run/backend/site-key.json")
    # HTTP API: request bodies larger than this are refused with 413.
    max_body_bytes: int = Field(16_000_000, ge=1024)
    # Registry imports (file or PUT /registry): at most this many rows and bytes.
    import_max_rows: int = Field(500_000, ge=1)
    import_max_bytes: int = Field(64_000_000, ge=1024)
    # Overrides of the room types' defaults (backend/cleaning/roomtypes.py), TOML or YAML.
    room_types_file: Path | None = None
    # The need score at which a room is due (a day of ordinary use scores about 1).
    need_threshold: float = Field(1.0, gt=0)
    # Shifts by name, local time; each room type says in which shifts it is cleaned.
    shifts: dict[str, str] = {"midday": "11:00-13:00", "afternoon": "15:00-21:00"}
    # An arrival tap without a leaving tap within this long closes as an incomplete visit.
    visit_timeout_min: int = Field(240, ge=5)
    # A second tap of the same card at the same room within this is a double tap, ignored.
    double_tap_s: int = Field(60, ge=0)
    # Trainee and buddy arriving at one room within this long make one buddy visit.
    buddy_window_min: int = Field(10, ge=0)
    # A visit shorter than this share of the room's estimated minutes is "too short".
    short_fraction: float = Field(0.4, gt=0, le=1)
    # How far back the planner looks for a room's last verified cleaning.
    lookback_days: int = Field(14, ge=1)
    # `pletfri backend run`: how often visits are paired and the need topics refreshed.
    interval_s: int = Field(300, ge=5)


Severity = Literal["info", "warning", "critical"]


class AlertRule(Section):
    enabled: bool = True
    severity: Severity = "warning"


class MissedCleaningRule(AlertRule):
    # A planned cleaning counts as missed this long after its shift has ended.
    grace_min: int = Field(30, ge=0)


class OverdueRoomRule(AlertRule):
    # "Far over": a need score of at least factor x backend.need_threshold ...
    factor: float = Field(2.0, ge=1)
    # ... for this long without a visit: longer than a shift, so that the shift which
    # cleans the room has had its chance.
    hours: float = Field(8.0, gt=0, le=168)


class DeviceOfflineRule(AlertRule):
    # A station that said `offline` this long ago; sensors use gateway.last_seen_timeout_s.
    after_min: int = Field(15, ge=0)
    severity: Severity = "critical"


class BatteryRule(AlertRule):
    low_mv: int = Field(2400, ge=0)
    window_h: int = Field(24, ge=1)
    # Falling: the lowest reading of the window is at least this far below its first one.
    min_drop_mv: int = Field(20, ge=0)


class QueueRule(AlertRule):
    window_min: int = Field(60, ge=1)
    min_queue: int = Field(10, ge=1)


class ClockRule(AlertRule):
    # This many undated (clock_ok=false) points from one device in the lookback window.
    min_points: int = Field(3, ge=1)


class ShortVisitRule(AlertRule):
    # Visits the backend judged too short (backend.short_fraction of the room's minutes).
    severity: Severity = "info"


class CardTravelRule(AlertRule):
    # No one gets from one building to another faster than this.
    min_travel_min: int = Field(20, ge=1)


class SilentSensorRule(AlertRule):
    # Hours of timetabled use with a sensor alive but counting nothing.
    window_h: float = Field(2.0, gt=0)
    room_types: list[str] = ["classroom", "meeting", "office"]
    weekdays: list[int] = [0, 1, 2, 3, 4]
    in_use: str = Field("08:00-15:00", pattern=r"^\d\d:\d\d-\d\d:\d\d$")


class AlertsSettings(Section):
    channels: list[Literal["email", "webhook", "mqtt"]] = ["email", "webhook", "mqtt"]
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(25, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    sender: str = "pletfri@localhost"
    send_timeout_s: float = Field(10.0, gt=0)
    attempts: int = Field(3, ge=1)
    retry_wait_s: float = Field(1.0, ge=0)
    lookback_h: int = Field(26, ge=1)
    escalate_after_min: int = Field(60, ge=1)
    escalation_emails: list[str] = []
    quiet_hours: str = Field("22:00-06:00", pattern=r"^(\d\d:\d\d-\d\d:\d\d)?$")
    digest_hour: int = Field(6, ge=0, le=23)
    missed_cleaning: MissedCleaningRule = MissedCleaningRule()
    overdue_room: OverdueRoomRule = OverdueRoomRule()
    device_offline: DeviceOfflineRule = DeviceOfflineRule()
    battery: BatteryRule = BatteryRule()
    queue: QueueRule = QueueRule()
    clock: ClockRule = ClockRule()
    unknown_card: AlertRule = AlertRule()
    short_visit: ShortVisitRule = ShortVisitRule()
    card_travel: CardTravelRule = CardTravelRule()
    silent_sensor: SilentSensorRule = SilentSensorRule()


class ReportTargets(Section):
    # The contract's monthly targets, shown against the month's figures on the report's
    # first page. Placeholders: set the contract's own. 0 means no target (shown "–").
    verified_pct: float = Field(95.0, ge=0, le=100)
    approval_pct: float = Field(90.0, ge=0, le=100)
    # Share of the fixed schedule's cleanings avoided by cleaning on demand.
    avoided_pct: float = Field(10.0, ge=0, le=100)
    hours_saved: float = Field(0.0, ge=0)
    trainees: int = Field(0, ge=0)
    # Trainees ready for an own area (the step towards a job the system can see).
    ready: int = Field(0, ge=0)


class ReportSettings(Section):
    # The monthly report turns the cleaning hours saved into resources with the contract's
    # own figures per cleaning hour; these defaults are placeholders for a wet-cleaning hour
    # with a scrubber-drier, to be replaced by the contractor's measured consumption.
    water_l_per_hour: float = Field(20.0, ge=0)
    detergent_ml_per_hour: float = Field(100.0, ge=0)
    energy_kwh_per_hour: float = Field(0.8, ge=0)
    language: Literal["da", "en"] = "da"
    # A trainee is ready for an own area after this many visits alone ...
    ready_min_alone: int = Field(20, ge=1)
    # ... with at least this share of the latest ones verified (both taps, long enough).
    ready_verified_pct: float = Field(90.0, ge=0, le=100)
    # The first page's trend chart: this many months back, as far as plans exist. Each
    # earlier month costs about as much as the report itself.
    trend_months: int = Field(6, ge=1, le=24)
    targets: ReportTargets = ReportTargets()


class SampleBand(Section):
    # From this lot size (rooms in the building) up to the next band's: inspect `sample`
    # rooms and approve with at most `accept_failed` of them below their agreed level.
    lot_from: int = Field(ge=1)
    sample: int = Field(ge=1)
    accept_failed: int = Field(ge=0)


class QualitySettings(Section):
    # INSTA 800 inspections (docs/quality.md). The sample sizes are modelled on ISO 2859-1,
    # general inspection level II; the acceptance numbers are placeholders: the operator
    # sets the contract's own table.
    table: list[SampleBand] = [
        SampleBand(lot_from=f, sample=n, accept_failed=a)
        for f, n, a in [
            (2, 2, 0),
            (9, 3, 0),
            (16, 5, 1),
            (26, 8, 1),
            (51, 13, 2),
            (91, 20, 3),
            (151, 32, 5),
            (281, 50, 7),
        ]
    ]
    # Room types left out of the lot (e.g. technical rooms no one cleans to a level).
    exclude_room_types: list[str] = []
    # Mixed into the sample's seed: a private value keeps the sample from being foreseen
    # from the building and the day alone.
    seed_salt: str = ""

    @model_validator(mode="after")
    def _table_is_ordered(self) -> QualitySettings:
        if not self.table:
            raise ValueError("table needs at least one band")
        for before, band in zip(self.table, self.table[1:], strict=False):
            if band.lot_from <= before.lot_from:
                raise ValueError(
                    f"table: lot_from must increase from band to band ({before.lot_from}, "
                    f"then {band.lot_from})"
                )
        for band in self.table:
            if band.accept_failed >= band.sample:
                raise ValueError(
                    f"table: the band from {band.lot_from} accepts {band.accept_failed} failed "
                    f"rooms of a sample of {band.sample}; accept_failed must be below sample"
                )
        return self


class WebSettings(Section):
    """The web pages for cleaners and service leaders (backend/web, docs/web.md)."""

    # A session ends after this long without a request, and this long after login at most.
    session_idle_min: int = Field(60, ge=1, le=24 * 60)
    session_max_h: float = Field(12.0, gt=0, le=24 * 30)
    # The session cookie's Secure flag: "auto" sets it when the request came over TLS
    # (behind a proxy: run uvicorn with --proxy-headers); "always" or "never" force it.
    secure_cookies: Literal["auto", "always", "never"] = "auto"
    # Token buckets: login attempts per client address and per user name, sticker taps per
    # user, each refilled over a minute.
    login_per_minute: int = Field(5, ge=1)
    sticker_per_minute: int = Field(30, ge=1)
    # The pages' language until a person picks one (a cookie remembers the choice).
    language: Literal["da", "en"] = "da"
    # How often the cleaner's page asks for new ticks.
    poll_s: int = Field(15, ge=2, le=600)


class StickersSettings(Section):
    # NFC stickers (NTAG 424 DNA, SUN messages; docs/stickers.md).
    # The installation master key, 32 hex characters: every sticker key is derived from it.
    # Keep it secret (`pletfri config show` hides it); `pletfri sticker new-master-key`.
    master_key: str | None = None
    # Where the stickers' URLs point: the pages' public address, without the path.
    base_url: str = "https://pletfri.example"
    # How long a sticker tap waits for the gateway's `ack` before answering without it.
    ack_timeout_s: float = Field(2.0, gt=0, le=30)
    # The MQTT client id of the backend's sticker publisher, before "-<process id>".
    client_id: str = "pletfri-backend-stickers"


class DemoSettings(Section):
    # Messages per second the simulated fleet offers the broker (paced: a flood collapses it).
    rate: float = Field(8000.0, gt=0)
    connections: int = Field(4, ge=1, le=64)
    # The devices' settings in the demo (firmware defaults: 3600 and 300), chosen so a
    # school week of 155 buildings fits a few minutes on 2 cores; see docs/demo.md.
    sensor_send_s: int = Field(7200, ge=900, le=86400)
    station_heartbeat_s: int = Field(21600, ge=60)
    # Above sensor_send_s, or every sleeping sensor would look dead between its wakes.
    last_seen_timeout_s: int = Field(10800, ge=60)


class BrokerSettings(Section):
    # Mosquitto's files as `pletfri broker` writes them (docs/broker.md); Mosquitto's own
    # configuration names the same paths (password_file, acl_file, pid_file).
    password_file: Path = Path("run/broker/passwd")
    acl_file: Path = Path("run/broker/acl")
    # Where Mosquitto writes its process id (its pid_file option), for `pletfri broker
    # reload`; unset: reload the way the broker is run (systemctl reload mosquitto).
    pid_file: Path | None = None


class StorageSettings(Section):
    """Retention policies and rollups on InfluxDB 1.x (`pletfri storage setup`)."""

    # Raw points (15-minute occupancy, taps, visits, heartbeats ...) are kept this long in the
    # raw retention policy; 0 keeps them for ever.
    raw_days: int = Field(400, ge=0)
    # Hourly rollups per room (per device for device health) are kept this long; 0: for ever.
    hourly_days: int = Field(1830, ge=0)
    # Daily rollups per building are kept for ever.
    # Each hour the continuous queries roll up again the hours this far back, so points that
    # arrive late (a device replaying its offline queue, visits paired later) are counted.
    late_hours: int = Field(26, ge=1, le=24 * 30)
    # The database's raw retention policy, where the gateway and the backend write.
    raw_policy: str = Field("autogen", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    # Long-range backend queries (monthly report, savings) read the hourly rollups for the
    # whole days they cover; false: always the raw points.
    read_rollups: bool = True
    # Dashboards read raw points for time ranges up to this, hourly rollups up to
    # `dashboard_hourly_days`, daily rollups beyond (the `$rp` variable).
    dashboard_raw_days: float = Field(8.0, gt=0)
    dashboard_hourly_days: float = Field(93.0, gt=0)

    @model_validator(mode="after")
    def _ranges_in_order(self) -> StorageSettings:
        if self.dashboard_hourly_days <= self.dashboard_raw_days:
            raise ValueError(
                f"dashboard_hourly_days ({self.dashboard_hourly_days:g}) must exceed "
                f"dashboard_raw_days ({self.dashboard_raw_days:g}): the hourly rollups serve "
                "the ranges between them"
            )
        return self


class RunSettings(Section):
    # Where the service runner keeps the servers' configuration, data and logs.
    dir: Path = Path("run")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="PLETFRI_", env_nested_delimiter="__", extra="forbid"
    )

    log_level: str = "INFO"
    mqtt: MqttSettings = MqttSettings()
    influx: InfluxSettings = InfluxSettings()
    gateway: GatewaySettings = GatewaySettings()
    backend: BackendSettings = BackendSettings()
    alerts: AlertsSettings = AlertsSettings()
    report: ReportSettings = ReportSettings()
    quality: QualitySettings = QualitySettings()
    web: WebSettings = WebSettings()
    stickers: StickersSettings = StickersSettings()
    demo: DemoSettings = DemoSettings()
    broker: BrokerSettings = BrokerSettings()
    storage: StorageSettings = StorageSettings()
    run: RunSettings = RunSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The TOML file arrives as init data; the environment overrides it.
        return (env_settings, init_settings)


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(
            f"config file {path} does not exist; copy pletfri.example.toml there "
            "or leave out --config to use the defaults"
        ) from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"config file {path} is not valid TOML: {e}") from None


def load_settings(config: Path | None = None, **overrides: Any) -> Settings:
    """Settings from `config` (or $PLETFRI_CONFIG), the environment and `overrides`."""
    if config is None and os.environ.get("PLETFRI_CONFIG"):
        config = Path(os.environ["PLETFRI_CONFIG"])
    data = read_toml(config) if config is not None else {}
    for key, value in overrides.items():
        if isinstance(value, dict):
            data[key] = {**data.get(key, {}), **value}
        else:
            data[key] = value
    try:
        return Settings(**data)
    except ValidationError as e:
        where = f"config file {config} or " if config else ""
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in e.errors()
        )
        raise ConfigError(
            f"invalid settings in {where}PLETFRI_* environment variables: {problems} "
            "(see docs/configuration.md)"
        ) from None


def as_environment(settings: Settings) -> dict[str, str]:
    """`settings` as PLETFRI_* variables, so a child `pletfri` process runs with the same.

    Each section goes as one JSON value (PLETFRI_MQTT='{...}'); a variable naming one key
    (PLETFRI_MQTT__PORT) still overrides it.
    """
    env = {}
    for name, value in settings:
        key = f"PLETFRI_{name.upper()}"
        env[key] = value.model_dump_json() if isinstance(value, BaseModel) else str(value)
    return env
