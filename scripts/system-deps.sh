#!/usr/bin/env bash
# Installs the Debian packages the test suite needs when they are missing.
# Runs as root on CI and the dev machines; uses sudo when it is there and we are not root.
set -euo pipefail
needed=()
command -v redis-server >/dev/null 2>&1 || needed+=(redis-server)
# headless browser for tests/report/test_chromium.py (renders the findings report)
command -v chromium >/dev/null 2>&1 || needed+=(chromium)
[ ${#needed[@]} -eq 0 ] && exit 0
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "system-deps: need root (or sudo) to install: ${needed[*]}" >&2; exit 1
  fi
fi
echo "system-deps: installing ${needed[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends "${needed[@]}" >/dev/null
