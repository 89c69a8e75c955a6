"""One typed settings model for every part: a TOML file, then environment variables.

Precedence (highest first): environment variables (``PLETFRI_<SECTION>__<KEY>``),
the TOML file (``--config`` or ``PLETFRI_CONFIG``), the defaults below.
docs/configuration.md lists every key; ``pletfri config show`` prints the result.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
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
    registry_file: Path = Path("run/registry/devices.csv")
    state_dir: Path = Path("run/gateway")
    batch_lines: int = Field(5000, ge=1)
    batch_interval_s: float = Field(1.0, gt=0)
    spool_max_mb: int = Field(512, ge=1)
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
