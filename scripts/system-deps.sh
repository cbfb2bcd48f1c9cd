#!/usr/bin/env bash
# Installs the system packages pedidos-bot needs, from Debian's packages, when missing.
set -euo pipefail
missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
# Debian splits venv (and its ensurepip) out of python3.
python3 -c "import ensurepip, venv" 2>/dev/null || missing+=(python3-venv)
# The tests' PostgreSQL (a throwaway cluster each run), PDF checks and the alert rules' check.
if [[ "${WITH_TEST_TOOLS:-1}" == 1 ]]; then
    compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
    command -v pdftotext >/dev/null || missing+=(poppler-utils)
    command -v promtool >/dev/null || missing+=(prometheus)
fi
if [[ "${WITH_CHROMIUM:-1}" == 1 ]] && ! command -v chromium >/dev/null; then
    missing+=(chromium)
fi
[[ ${#missing[@]} -eq 0 ]] && exit 0
if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    echo "Installing ${missing[*]} from Debian's packages..."
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
else
    echo "pedidos-bot needs: ${missing[*]}" >&2
    echo "Install them with: sudo apt-get install ${missing[*]}" >&2
    exit 1
fi
