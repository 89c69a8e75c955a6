#!/usr/bin/env bash
# The main job: installs what is missing, then runs the demo (extra arguments go to it).
set -euo pipefail
cd "$(dirname "$0")"
source scripts/setup.sh
exec .venv/bin/pletfri demo "$@"
