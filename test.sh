#!/usr/bin/env bash
# The tests: installs what is missing, lints, then runs every test, the slow ones included.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/setup.sh
.venv/bin/ruff check .
exec .venv/bin/pytest "$@"
