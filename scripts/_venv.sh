# Sourced by the scripts: make .venv with the project installed (once per pyproject change).
# Usage: . scripts/_venv.sh [EXTRAS]
set -euo pipefail
PY="${PYTHON:-python3}"
"$PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
if [ ! -x .venv/bin/python ]; then
    echo "» creating .venv"
    "$PY" -m venv .venv
fi
extras="${1:-}"
stamp=".venv/.installed-$( (cat pyproject.toml; echo "$extras") | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
    echo "» installing the project${extras:+ with [$extras]} into .venv"
    .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".${extras:+[$extras]}"
    rm -f .venv/.installed-*
    touch "$stamp"
fi
