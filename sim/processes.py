"""The gateway as a child process, as it runs in production: its own interpreter and core."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from pletfri.settings import Settings


def settings_env(s: Settings) -> dict[str, str]:
    """The settings as PLETFRI_* variables, so a child process sees exactly these."""
    env: dict[str, str] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(f"{prefix}__{k.upper()}" if prefix else k.upper(), v)
        elif isinstance(value, list):
            env[f"PLETFRI_{prefix}"] = json.dumps(value)
        elif value is not None:
            env[f"PLETFRI_{prefix}"] = str(value)

    walk("", s.model_dump(mode="json"))
    return env


class GatewayProcess:
    def __init__(self, settings: Settings, log_file: Path) -> None:
        self.settings = settings
        self.log_file = log_file
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("PLETFRI_")}
        env.update(settings_env(self.settings))
        pletfri = Path(sys.executable).with_name("pletfri")
        with self.log_file.open("ab") as out:
            # Its own session: Ctrl-C reaches the demo, which then stops the gateway in order.
            self.proc = subprocess.Popen(
                [str(pletfri), "gateway", "run"],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 30.0) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
