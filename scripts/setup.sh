#!/usr/bin/env bash
# Installs what lamp's tests need on a fresh Debian machine (run as root, or with sudo), then the npm
# dependencies (which also builds dist/):
# - php-fpm and the PHP CLI (lamp dev's PHP), with the extensions Bref's layer loads by default (mysqli/pdo_mysql,
#   mbstring, xml, bcmath, pdo_pgsql, sqlite3...), so a new project's lamp dev has what production has;
# - MariaDB (the local database of lamp dev), nginx (the reference server the tests compare lamp dev with);
# - real PHP apps as test subjects: WordPress, DokuWiki, Slim, Symfony components; Composer (init's composer.json is resolved
#   against a local path repository standing in for bref/bref);
# - procps and util-linux (pgrep, script), and openssl (a test certificate for TLS-only MariaDB), which the tests use.
# - AWS's own validators (cfn-lint, the SAM translator) and an AWS emulator (moto server), from the bundle in
#   ../shared/aws-validators/ (not installable from PyPI here), unpacked into .cache/aws-validators/ (git-ignored),
#   with the Debian python3 packages they need. Elsewhere: pip install cfn-lint==1.22.7 aws-sam-translator==1.94.0
#   "moto[server]==4.1.15" and point LAMP_AWS_VALIDATORS at a folder holding cfn-lint, sam-translate and moto-server.
# With --bench it also installs the peers the benchmarks compare against: awscli, zip, wrk.
# Services are not started: the tests start their own php-fpm, mariadbd and nginx in temp folders.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  php-fpm php-cli php-mysql php-mbstring php-xml php-curl php-gd php-intl php-zip php-bcmath php-pgsql php-sqlite3
  mariadb-server mariadb-client nginx-light
  wordpress wordpress-theme-twentytwentythree dokuwiki php-slim php-slim-psr7 php-symfony-http-foundation php-symfony-routing php-symfony-http-kernel composer
  procps util-linux openssl
  python3 python3-boto3 python3-botocore python3-werkzeug python3-flask python3-flask-cors python3-responses python3-xmltodict
  python3-jinja2 python3-cryptography python3-yaml python3-dateutil python3-requests python3-pydantic python3-jsonschema
  python3-jsonpatch python3-networkx python3-sympy python3-regex python3-junit.xml python3-sarif-python-om
  python3-jschema-to-python python3-aws-xray-sdk python3-docker python3-jose python3-sshpubkeys python3-pyparsing
  python3-graphql-core python3-multipart python3-jsondiff
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

# The validators' bundle sits beside the checkout in CI (../shared); unpacked again only when it changed.
validators_bundle=../shared/aws-validators/aws-validators.tar.gz
if [[ -f "$validators_bundle" ]]; then
  stamp=.cache/aws-validators/.bundle-sha256
  sum=$(sha256sum "$validators_bundle" | cut -d' ' -f1)
  if [[ "$(cat "$stamp" 2>/dev/null)" != "$sum" ]]; then
    rm -rf .cache/aws-validators && mkdir -p .cache
    tar xzf "$validators_bundle" -C .cache
    echo "$sum" > "$stamp"
  fi
else
  echo "setup.sh: no $validators_bundle: the AWS validator tests will skip (and fail in CI); see docs/packaging.md" >&2
fi

npm ci --no-audit --no-fund
