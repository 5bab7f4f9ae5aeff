#!/usr/bin/env bash
# Installs Debian's chromium when /usr/bin/chromium is missing, for the
# browser tests of cmd/demo-tool (github.com/chromedp/chromedp drives it).
# Runs apt-get as root, or through sudo when not root. Does nothing when
# chromium is already installed. Exits non-zero when it cannot install it.
#
# Usage: scripts/ensure-chromium.sh
set -euo pipefail

CHROMIUM=/usr/bin/chromium

if [ -x "$CHROMIUM" ]; then
  exit 0
fi

as_root() {
  if [ "$(id -u)" = 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo -n "$@"
  else
    echo "ensure-chromium: not root and no sudo: cannot install chromium" >&2
    return 1
  fi
}

echo "== installing Debian's chromium (for the browser tests)" >&2
as_root apt-get update -qq
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null

if [ ! -x "$CHROMIUM" ]; then
  echo "ensure-chromium: apt-get finished but $CHROMIUM is still missing" >&2
  exit 1
fi
"$CHROMIUM" --version >&2 || true
