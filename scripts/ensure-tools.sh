#!/usr/bin/env bash
# The deployment tests (tests/deploy) check deploy/ with offline tools. hadolint,
# kubernetes-validate, check-jsonschema and docker compose come as wheels with the `dev`
# extras; promtool comes from Debian's prometheus package, installed when it is missing
# and we may (root with apt-get); otherwise say so. kustomize (or `kubectl kustomize`) is
# only looked for: Debian's kubectl (1.20) is too old for current kustomizations. A
# missing tool fails the deployment tests in CI and skips them elsewhere.
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
if command -v kustomize >/dev/null 2>&1 || command -v kubectl >/dev/null 2>&1; then
  echo "tools: $(command -v kustomize || command -v kubectl)"
else
  echo "tools: neither kustomize nor kubectl here: the Kubernetes tests cannot render deploy/k8s" >&2
fi
exit 0
