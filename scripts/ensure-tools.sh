#!/usr/bin/env bash
# The deployment tests (tests/deploy) check deploy/ with offline tools. hadolint,
# kubernetes-validate, check-jsonschema and docker compose come as wheels with the `dev`
# extras; promtool comes from Debian's prometheus package and kustomize from kubectl.
# Install what is missing when we may (root with apt-get); otherwise say so: in CI the
# deployment tests then fail, elsewhere they skip.
set -uo pipefail

can_install() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; }

ensure() {
  local tool=$1 package=$2
  if command -v "$tool" >/dev/null 2>&1; then echo "tools: $(command -v "$tool")"; return 0; fi
  if ! can_install; then
    echo "tools: no $tool and no way to install it here (Debian's $package)" >&2
    return 0
  fi
  echo "tools: installing Debian's $package for $tool"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$package") \
    >"/tmp/loom-$package-install.log" 2>&1 \
    || { echo "tools: installing $package failed (see /tmp/loom-$package-install.log)" >&2; return 0; }
  echo "tools: $(command -v "$tool")"
}

ensure promtool prometheus
ensure kubectl kubernetes-client
exit 0
