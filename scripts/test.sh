#!/usr/bin/env bash
# The whole test suite, on a fresh machine as on a developer's: first what the tests need —
# Debian packages PostgreSQL (store tests run on it as well as on SQLite), Chromium and
# ChromeDriver (console browser tests) and busybox-static (the agent's namespace-"pod"
# end-to-end tests), installed when missing (needs root and apt) — and a running PostgreSQL
# (unless PODWARDEN_TEST_POSTGRES_URL names one); then formatting, lints, every test of every
# crate.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
[ -x /bin/busybox ] || need+=(busybox-static)
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || need+=(postgresql)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing test prerequisites: ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi
if [ -z "${PODWARDEN_TEST_POSTGRES_URL:-}" ]; then
  PODWARDEN_TEST_POSTGRES_URL=$(scripts/start-test-postgres.sh)
  export PODWARDEN_TEST_POSTGRES_URL
fi

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked
