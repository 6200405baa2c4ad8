#!/bin/sh
# Installs ical.js (Thunderbird's iCalendar parser) from npm into tests/calendar_js/node_modules, when missing,
# for the cross-parser calendar tests. Called by tests/browser/setup.sh (so `make test` and CI run it). Never
# fails: without node or ical.js those tests skip with a message, or fail where EVENTS_REQUIRE_BROWSER=1 (CI).
cd "$(dirname "$0")" || exit 0
if [ ! -f node_modules/ical.js/package.json ]; then
  if command -v npm >/dev/null 2>&1; then
    npm ci --no-audit --no-fund --silent || echo "calendar tests: npm could not install ical.js"
  else
    echo "calendar tests: npm is missing, so ical.js cannot be installed"
  fi
fi
exit 0
