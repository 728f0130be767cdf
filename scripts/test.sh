#!/usr/bin/env bash
# Run lint, type checks and the whole test suite.
# TEST_DATABASES="sqlite postgres" runs the suite once per database (default: sqlite);
# POSTGRES_TEST_URL (default postgres://postgres@127.0.0.1:5432/test) is used for "postgres".
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/_venv.sh test
export PYTHONDONTWRITEBYTECODE=1
echo "» ruff"
.venv/bin/ruff check .
echo "» mypy"
.venv/bin/mypy mailer subscribers
status=0
for db in ${TEST_DATABASES:-sqlite}; do
    case "$db" in
        sqlite) url="sqlite:///var/test.sqlite3" ;;
        postgres) url="${POSTGRES_TEST_URL:-postgres://postgres@127.0.0.1:5432/test}" ;;
        *) echo "unknown database '$db' in TEST_DATABASES (use sqlite, postgres)"; exit 2 ;;
    esac
    echo "» pytest on $db"
    DATABASE_URL="$url" .venv/bin/pytest "$@" || status=$?
done
exit $status
