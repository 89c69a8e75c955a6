"""Every flashed file compiles with the real MicroPython compiler (mpy-cross) and
type-checks with pyright against micropython-esp32-stubs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

FIRMWARE = Path(__file__).resolve().parents[2] / "firmware"
FLASHED = sorted([*FIRMWARE.glob("pletfri_fw/*.py"), *FIRMWARE.glob("boards/*/*.py")])
BIN = Path(sys.executable).parent


@pytest.mark.parametrize("src", FLASHED, ids=lambda p: str(p.relative_to(FIRMWARE)))
def test_compiles_with_mpy_cross(src: Path, tmp_path: Path) -> None:
    out = tmp_path / (src.stem + ".mpy")
    r = subprocess.run(
        [str(BIN / "mpy-cross"), "-o", str(out), str(src)], capture_output=True, text=True
    )
    assert r.returncode == 0, r.stderr
    assert out.stat().st_size > 0


def test_type_checks_against_esp32_stubs(tmp_path: Path) -> None:
    # The stubs' stdlib/ replaces CPython's typeshed (shared/research/tech.md); pyright
    # wants the paths in its config relative to the config file.
    site = Path(sysconfig.get_paths()["purelib"])
    assert (site / "stdlib").is_dir() and (site / "machine.pyi").is_file()

    def rel(p: Path) -> str:
        return os.path.relpath(p, tmp_path)

    config = {
        "typeshedPath": rel(site),
        "extraPaths": [rel(FIRMWARE), rel(site)],
        "include": [rel(FIRMWARE / "pletfri_fw"), rel(FIRMWARE / "boards")],
        "reportMissingModuleSource": False,
        "typeCheckingMode": "basic",
    }
    (tmp_path / "pyrightconfig.json").write_text(json.dumps(config))
    r = subprocess.run(
        [str(BIN / "pyright"), "-p", str(tmp_path / "pyrightconfig.json")],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stdout[-3000:]
    assert "0 errors" in r.stdout


def test_cli_build_writes_every_module(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from pletfri.cli import app as cli

    r = CliRunner().invoke(cli, ["device", "build", "--out", str(tmp_path)])
    assert r.exit_code == 0, r.output
    built = sorted(p.stem for p in (tmp_path / "lib" / "pletfri_fw").glob("*.mpy"))
    assert built == sorted(p.stem for p in FIRMWARE.glob("pletfri_fw/*.py"))
