"""`pletfri services run --logins`: the runner's Mosquitto with the files `pletfri broker`
keeps, as a developer or a small installation starts it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from brhelpers import Probe
from typer.testing import CliRunner

from backend.broker import accounts
from backend.broker.acl import GATEWAY
from pletfri.cli import app as cli
from pletfri.settings import BrokerSettings


@pytest.mark.slow
def test_services_run_with_logins(tmp_path: Path) -> None:
    files = BrokerSettings(password_file=tmp_path / "passwd", acl_file=tmp_path / "acl")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PLETFRI_")},
        "PLETFRI_BROKER__PASSWORD_FILE": str(files.password_file),
        "PLETFRI_BROKER__ACL_FILE": str(files.acl_file),
    }
    r = CliRunner().invoke(cli, ["services", "run", "--logins"], env=env)
    assert r.exit_code == 2 and "missing: make them first" in r.output
    password = accounts.issue(files, GATEWAY)
    accounts.write_acl(files.acl_file, [])
    args = ["-c", "from pletfri.cli import main; main()", "services", "run", "--logins"]
    proc = subprocess.Popen(
        [sys.executable, *args, "--run-dir", str(tmp_path / "run")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines = []
        while not lines or not lines[-1].startswith("mosquitto: mqtt://"):
            lines.append(proc.stdout.readline())  # log lines first, then what it prints
            assert lines[-1], f"services run ended: {lines}"
        port = int(lines[-1].rsplit(":", 1)[1])
        assert "logins and ACL on" in proc.stdout.readline()
        anonymous = Probe(port, client_id="anon")
        assert anonymous.connect().is_failure
        anonymous.close()
        gateway = Probe(port, GATEWAY, password, "gw")
        assert not gateway.connect().is_failure
        gateway.close()
    finally:
        proc.send_signal(signal.SIGINT)
        deadline = time.monotonic() + 20
        while proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode in (0, 130)
