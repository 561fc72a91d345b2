#!/usr/bin/env bash
# The browser tests drive Debian's Chromium through Playwright (`playwright install`
# cannot download here). Install it when it is missing and we may (root with apt-get);
# otherwise say so: in CI the browser tests then fail, elsewhere they skip.
set -uo pipefail

CHROMIUM=${LOOM_CHROMIUM:-/usr/bin/chromium}
if [ -x "$CHROMIUM" ]; then echo "browser: $CHROMIUM"; exit 0; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "browser: installing Debian's chromium"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) \
    >/tmp/loom-chromium-install.log 2>&1 \
    || { echo "browser: installing chromium failed (see /tmp/loom-chromium-install.log)" >&2; exit 0; }
  echo "browser: $CHROMIUM"
else
  echo "browser: no $CHROMIUM and no way to install it here" >&2
fi
exit 0
