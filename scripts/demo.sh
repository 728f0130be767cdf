#!/usr/bin/env bash
# Run the demo on the embedded default (SQLite, file-system broker, local SMTP sink).
# Extra arguments go to `newsletter demo`, e.g. --no-serve.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/_venv.sh test
# The demo's mailbox pages (/sink/) are open without a login; nowhere else by default.
export SINK_PAGES_PUBLIC="${SINK_PAGES_PUBLIC:-1}"
exec .venv/bin/newsletter demo "$@"
