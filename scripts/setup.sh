#!/usr/bin/env bash
# Installs what lamp's tests need on a fresh Debian machine (run as root, or with sudo):
# php-fpm and the PHP CLI from Debian (plus pgrep and script, which the tests use), then the npm dependencies (which also builds dist/).
# With --bench it also installs the peers the benchmarks compare against: nginx, awscli, zip.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(php-fpm php-cli procps util-linux)
if [[ "${1:-}" == "--bench" ]]; then
  packages+=(nginx-light awscli zip wrk)
fi

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
  sudo_cmd=()
  [[ $(id -u) -ne 0 ]] && sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

npm ci --no-audit --no-fund
