#!/bin/sh
# Installs what the browser tests need, when it is missing: Debian's chromium with CJK fonts (needs root and apt)
# and axe-core from npm into tests/browser/node_modules, then ical.js into tests/calendar_js (its own setup.sh).
# Never fails: without them the browser tests skip with a message, or fail where EVENTS_REQUIRE_BROWSER=1 (CI).
cd "$(dirname "$0")" || exit 0

can_apt() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; }

apt_install() {
  echo "browser tests: installing $* with apt-get"
  { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@"; } \
    >/tmp/events-browser-apt.log 2>&1 || echo "browser tests: apt-get install $* failed (see /tmp/events-browser-apt.log)"
}

missing=""
[ -x /usr/bin/chromium ] || missing="chromium"
if command -v dpkg >/dev/null 2>&1 && ! dpkg -s fonts-noto-cjk >/dev/null 2>&1; then missing="$missing fonts-noto-cjk"; fi
# The PDF documents (events_app/documents) set Latin, Arabic and other scripts in fonts-noto-core's fonts.
if command -v dpkg >/dev/null 2>&1 && ! dpkg -s fonts-noto-core >/dev/null 2>&1; then missing="$missing fonts-noto-core"; fi
command -v npm >/dev/null 2>&1 || [ -f node_modules/axe-core/axe.min.js ] || missing="$missing npm"
if [ -n "$missing" ]; then
  if can_apt; then
    # shellcheck disable=SC2086
    apt_install $missing
  else
    echo "browser tests: missing$missing (install as root: apt-get install chromium fonts-noto-cjk fonts-noto-core npm)"
  fi
fi

if [ ! -f node_modules/axe-core/axe.min.js ]; then
  if command -v npm >/dev/null 2>&1; then
    npm ci --no-audit --no-fund --silent || echo "browser tests: npm could not install axe-core"
  else
    echo "browser tests: npm is missing, so axe-core cannot be installed"
  fi
fi
# ical.js for the calendar tests that read every feed with Thunderbird's parser (after npm is there).
sh ../calendar_js/setup.sh
exit 0
