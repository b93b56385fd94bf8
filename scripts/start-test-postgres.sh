#!/usr/bin/env bash
# Starts a local PostgreSQL for the server's store tests (idempotent; CI and developers).
# Installs the Debian package if missing, starts the default cluster, creates the role and
# database `podwarden` (password `podwarden`), and prints the URL to export:
#   export PODWARDEN_TEST_POSTGRES_URL=postgres://podwarden:podwarden@127.0.0.1:5432/podwarden
# The tests create (and drop) one database per test through this role.
set -euo pipefail

# Only the URL goes to stdout (callers capture it); everything the tools print goes to stderr.
exec 3>&1 1>&2

if ! command -v pg_ctlcluster >/dev/null 2>&1 || ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq postgresql >/dev/null
fi

version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
if ! pg_lsclusters -h | awk '{print $1" "$2}' | grep -qx "$version main"; then
    pg_createcluster "$version" main >/dev/null 3>&-
fi
if ! pg_lsclusters -h | awk -v v="$version" '$1==v && $2=="main" {print $4}' | grep -qx online; then
    pg_ctlcluster "$version" main start 3>&-
fi

for _ in $(seq 1 30); do
    if pg_isready -q -h 127.0.0.1 -p 5432; then break; fi
    sleep 1
done

su postgres -c "psql -q -v ON_ERROR_STOP=1 -p 5432 postgres" <<'SQL' >/dev/null
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'podwarden') THEN
        CREATE ROLE podwarden LOGIN PASSWORD 'podwarden' CREATEDB;
    END IF;
END
$$;
SQL
if ! su postgres -c "psql -tA -p 5432 -c \"SELECT 1 FROM pg_database WHERE datname = 'podwarden'\" postgres" | grep -qx 1; then
    su postgres -c "createdb -p 5432 -O podwarden podwarden"
fi

echo "postgres://podwarden:podwarden@127.0.0.1:5432/podwarden" >&3
