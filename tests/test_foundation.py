"""Settings, the server runner and the CLI: the parts every other part stands on."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

from pletfri.cli import app
from pletfri.influx import Influx, line, quote
from pletfri.services import InfluxDB, Mosquitto, ServiceError, running_stack
from pletfri.settings import ConfigError, as_environment, load_settings


def test_env_overrides_toml_overrides_defaults(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    cfg = tmp_path / "p.toml"
    cfg.write_text('[mqtt]\nhost = "broker.local"\nport = 1884\n[influx]\ndatabase = "x"\n')
    monkeypatch.setenv("PLETFRI_MQTT__PORT", "1999")
    s = load_settings(cfg)
    assert (s.mqtt.host, s.mqtt.port, s.influx.database) == ("broker.local", 1999, "x")
    assert s.gateway.batch_lines == 5000


def test_settings_pass_to_a_child_process_through_the_environment(
    tmp_path: Path,
    monkeypatch,  # type: ignore[no-untyped-def]
) -> None:
    s = load_settings(
        mqtt={"port": 1884, "password": "p w"},
        gateway={"registry_file": tmp_path / "d.csv", "batch_lines": 7},
        log_level="DEBUG",
    )
    for key, value in as_environment(s).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("PLETFRI_GATEWAY__BATCH_LINES", "9")
    child = load_settings()
    assert child.model_copy(update={"gateway": s.gateway}) == s
    assert child.gateway.batch_lines == 9
    assert child.gateway.registry_file == tmp_path / "d.csv"


def test_config_show_masks_every_secret(tmp_path: Path) -> None:
    cfg = tmp_path / "p.toml"
    cfg.write_text(
        '[mqtt]\npassword = "mq-secret"\n[alerts]\nsmtp_password = "smtp-secret"\n'
        '[quality]\nseed_salt = "salt-secret"\n[influx]\ntoken = "influx-secret"\n'
    )
    out = CliRunner().invoke(app, ["--config", str(cfg), "config", "show"])
    assert out.exit_code == 0, out.output
    assert "secret" not in out.output and out.output.count('"***"') == 4


def test_config_file_from_environment(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    cfg = tmp_path / "p.toml"
    cfg.write_text('log_level = "DEBUG"\n')
    monkeypatch.setenv("PLETFRI_CONFIG", str(cfg))
    assert load_settings().log_level == "DEBUG"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[mqtt\nport = 1", "is not valid TOML"),
        ("[mqtt]\nprot = 1884\n", "mqtt.prot: Extra inputs are not permitted"),
        ("[mqtt]\nport = 70000\n", "mqtt.port: Input should be less than or equal to 65535"),
    ],
)
def test_bad_config_names_file_key_and_problem(tmp_path: Path, text: str, message: str) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text(text)
    with pytest.raises(ConfigError) as e:
        load_settings(cfg)
    assert message in str(e.value)
    assert str(cfg) in str(e.value)


def test_missing_config_file_says_how_to_fix(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"does not exist; copy pletfri\.example\.toml"):
        load_settings(tmp_path / "nope.toml")


def test_example_config_is_valid() -> None:
    load_settings(Path(__file__).resolve().parents[1] / "pletfri.example.toml")


def test_missing_binary_says_which_package(tmp_path: Path) -> None:
    with pytest.raises(ServiceError, match=r"apt-get install mosquitto"):
        Mosquitto("mosquitto", tmp_path, binary="mosquitto-not-installed").start()


def test_taken_port_is_refused_clearly(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(ServiceError, match=rf"port {port} on 127.0.0.1 is taken"):
            InfluxDB("influxdb", tmp_path, port=port).start()


def test_servers_stop_on_ctrl_c(tmp_path: Path) -> None:
    with pytest.raises(KeyboardInterrupt), running_stack(tmp_path) as stack:
        procs = [stack.mosquitto.proc, stack.influxdb.proc]
        raise KeyboardInterrupt
    assert all(p is not None and p.poll() is not None for p in procs)


def _commands(cmd: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [path]
    if hasattr(cmd, "commands"):
        for name, sub in cmd.commands.items():
            found += _commands(sub, (*path, name))
    return found


def test_every_command_has_help() -> None:
    runner = CliRunner()
    paths = _commands(typer.main.get_command(app))
    assert len(paths) > 5
    for path in paths:
        result = runner.invoke(app, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        assert "Usage" in result.output


def test_quote_makes_any_string_an_influxql_literal(influx: Influx) -> None:
    odd = ["o'brien", "back\\slash", "both\\'"]
    t0 = 1_700_000_000_000
    influx.write(line("m", {}, {"who": who}, t0 + i) for i, who in enumerate(odd))
    for i, who in enumerate(odd):
        rows = influx.query(f"SELECT who FROM m WHERE who = {quote(who)}")
        assert [(row["time"], row["who"]) for row in rows] == [(t0 + i, who)]
