#!/usr/bin/env bash
# Run the demo on the embedded default (SQLite, file-system broker, local SMTP sink).
# Extra arguments go to `newsletter demo`, e.g. --no-serve.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/_venv.sh test
exec .venv/bin/newsletter demo "$@"
