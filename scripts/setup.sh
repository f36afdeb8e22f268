#!/usr/bin/env bash
# Installs what lamp's tests need on a fresh Debian machine (run as root, or with sudo), then the npm
# dependencies (which also builds dist/):
# - php-fpm and the PHP CLI (lamp dev's PHP), with the extensions the test apps use (mysqli/pdo_mysql, mbstring, xml...);
# - MariaDB (the local database of lamp dev), nginx (the reference server the tests compare lamp dev with);
# - real PHP apps as test subjects: WordPress, DokuWiki, Slim, Symfony components; Composer (init's composer.json is resolved
#   against a local path repository standing in for bref/bref);
# - procps and util-linux (pgrep, script), and openssl (a test certificate for TLS-only MariaDB), which the tests use.
# With --bench it also installs the peers the benchmarks compare against: awscli, zip, wrk.
# Services are not started: the tests start their own php-fpm, mariadbd and nginx in temp folders.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  php-fpm php-cli php-mysql php-mbstring php-xml php-curl php-gd php-intl php-zip
  mariadb-server mariadb-client nginx-light
  wordpress wordpress-theme-twentytwentythree dokuwiki php-slim php-slim-psr7 php-symfony-http-foundation php-symfony-routing php-symfony-http-kernel composer
  procps util-linux openssl
)
if [[ "${1:-}" == "--bench" ]]; then
  packages+=(awscli zip wrk)
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
