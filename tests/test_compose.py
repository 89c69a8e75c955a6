"""docker-compose.yml and docker-compose.cluster.yml are checked against the Compose
specification (no Docker engine here)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILES = [ROOT / "docker-compose.yml", ROOT / "docker-compose.cluster.yml"]
# Made by the operator (docs/operations.md), so absent from the repository.
OPERATOR_FILES = {"docker/mosquitto/passwd", "docker/mosquitto/acl"}


@pytest.mark.parametrize("compose", COMPOSE_FILES, ids=lambda p: p.name)
def test_compose_file_matches_the_compose_spec(compose: Path) -> None:
    checker = Path(sys.executable).with_name("check-jsonschema")
    result = subprocess.run(
        [str(checker), "--builtin-schema", "vendor.compose-spec", str(compose)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("compose", COMPOSE_FILES, ids=lambda p: p.name)
def test_compose_bind_mounts_exist(compose: Path) -> None:
    spec = yaml.safe_load(compose.read_text())
    named = set(spec.get("volumes", {}))
    missing = []
    for name, service in spec["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source in named or source.removeprefix("./") in OPERATOR_FILES:
                continue
            if not (ROOT / source).exists():
                missing.append(f"{name}: {source}")
    assert missing == []
