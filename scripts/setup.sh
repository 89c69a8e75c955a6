#!/usr/bin/env bash
# Installs what Pletfri needs, idempotently: Debian's mosquitto, influxdb, poppler-utils
# and chromium when their binaries are missing, Python 3.11+ with venv, and the pinned
# Python packages of pyproject.toml in .venv. Sourced by demo.sh and test.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        echo "setup: '$*' needs root; run as root or install sudo" >&2; exit 1
    fi
}

missing=()
command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ] || missing+=(mosquitto)
command -v influxd >/dev/null || [ -x /usr/bin/influxd ] || missing+=(influxdb)
# pdftoppm: the report test turns the monthly report's PDF into images.
command -v pdftoppm >/dev/null || missing+=(poppler-utils)
# The web pages' browser tests drive Debian's chromium with Playwright (no browser download).
command -v chromium >/dev/null || [ -x /usr/bin/chromium ] || missing+=(chromium)
command -v python3 >/dev/null || missing+=(python3)
python3 -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]} with apt-get" >&2
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# Debian starts no daemon without systemd, but where it does, ours run on their own ports anyway.

stamp=.venv/.installed
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    echo "setup: installing Python packages into .venv" >&2
    # Some machines' pip configs name local indexes that may be absent; pip warns per package.
    quiet() { "$@" 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2); }
    quiet .venv/bin/python -m pip install -q --upgrade pip || true
    quiet .venv/bin/python -m pip install -q -e '.[dev]'
    touch "$stamp"
fi
