#!/usr/bin/env bash
# Installs Debian's Chromium (/usr/bin/chromium) for the browser tests
# (test/api/docs-page.test.ts drives it with playwright-core, which downloads
# no browser of its own). Idempotent: nothing is done when it is already
# there. Needs root and apt (as on CI's machine); elsewhere it says what to
# install and exits non-zero.
set -euo pipefail

chromium="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ -x "$chromium" ]; then
  echo "chromium: $("$chromium" --version 2>/dev/null || echo "$chromium")"
  exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "install-browser: $chromium is missing; install Debian's chromium package (apt-get install chromium)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium >/dev/null
echo "chromium: $("$chromium" --version)"
