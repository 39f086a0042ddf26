#!/usr/bin/env bash
# Installs the migration tools the tool tier (`npx projen tools`) runs against a real PostgreSQL.
# Idempotent and quiet; prints one line per tool with its version, or why it is not there.
#   Debian: shellcheck (the unit suite lints every in-pod script with it), prometheus (for promtool: checks and unit-tests the alert rules), golang-go (Go's
#   text/template, Helm's engine: renders what Delivery.helm() escapes), PostgreSQL 15, Django, Alembic, Rails (railties + ActiveRecord + pg; the `rails` meta
#   package is not installable next to this machine's nodejs), sqitch (+ DBD::Pg).
#   npm (into $TOOLS_HOME/npm, outside the repo): knex, typeorm, sequelize-cli, dbmate, pg.
# Tools that cannot be installed here (Prisma's engines, Flyway, Liquibase, Atlas, golang-migrate,
# goose are downloads or not packaged) are skipped by the tests, which say why.
set -uo pipefail
# Outside the repo, and readable by the non-root user the tests run the tools as (root's HOME is not).
if [ "$(id -u)" = 0 ]; then default_home=/var/cache/cdk8s-migrated-service-tools
else default_home="${XDG_CACHE_HOME:-$HOME/.cache}/cdk8s-migrated-service-tools"; fi
TOOLS_HOME="${TOOLS_HOME:-$default_home}"
mkdir -p "$TOOLS_HOME"

debs=(shellcheck prometheus golang-go postgresql-15 python3-django alembic python3-alembic python3-sqlalchemy python3-psycopg2 ruby-railties ruby-activerecord ruby-pg sqitch libdbd-pg-perl)
missing=()
for p in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"; } \
      >"$TOOLS_HOME/apt.log" 2>&1 || echo "note: apt-get install ${missing[*]} failed (see $TOOLS_HOME/apt.log)"
  else
    echo "note: cannot apt-get install ${missing[*]} (not root or no apt-get)"
  fi
fi

# The npm tools share one node_modules; the tiny projects link to it. Versions are pinned so a run
# here proves what the docs say it proves.
npm_pkgs=(knex@3.3.0 pg@8.16.3 typeorm@0.3.27 reflect-metadata@0.2.2 sequelize@6.37.8 sequelize-cli@6.6.5 dbmate@2.36.0)
npm_dir="$TOOLS_HOME/npm"
stamp="$npm_dir/.installed-$(printf '%s ' "${npm_pkgs[@]}" | md5sum | cut -c1-12)"
if [ ! -f "$stamp" ]; then
  mkdir -p "$npm_dir"
  [ -f "$npm_dir/package.json" ] || echo '{"name":"migration-tools","private":true}' >"$npm_dir/package.json"
  if (cd "$npm_dir" && npm install --no-audit --no-fund --loglevel=error "${npm_pkgs[@]}" >"$TOOLS_HOME/npm.log" 2>&1); then
    touch "$stamp"
  else
    echo "note: npm install of ${npm_pkgs[*]} failed (see $TOOLS_HOME/npm.log)"
  fi
fi

version() { # name, command...
  local name=$1; shift
  local v
  if v=$("$@" 2>/dev/null | head -1) && [ -n "$v" ]; then echo "$name: $v"; else echo "$name: not available"; fi
}
npmv() { node -e "console.log(require('$npm_dir/node_modules/$1/package.json').version)"; }
version promtool promtool --version
version go go version
version postgresql /usr/lib/postgresql/15/bin/postgres --version
version django /usr/bin/python3 -c 'import django; print(django.get_version())'
version alembic /usr/bin/python3 -c 'import alembic; print(alembic.__version__)'
version rails ruby -e 'require "rails"; puts Rails.version'
version sqitch sqitch --version
version knex npmv knex
version typeorm npmv typeorm
version sequelize-cli npmv sequelize-cli
version dbmate "$npm_dir/node_modules/.bin/dbmate" --version
echo "prisma: not available (its schema engine is a download from binaries.prisma.sh)"
echo "flyway, liquibase, atlas, golang-migrate, goose: not available (not in Debian; npm wrappers download them)"
echo "tools home: $TOOLS_HOME"
