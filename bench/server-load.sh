#!/usr/bin/env bash
# Server load benchmark: 10,000 agents enrol, then heartbeat every 30 s (~333 req/s, open loop)
# against an in-process server on a temporary SQLite file; also times
# upsert_assets_from_source with 10,000 pods. Prints throughput and latency percentiles.
# Extra arguments go to the load generator, e.g. `--duration 120 --connections 128`,
# or `--url http://HOST:PORT --token pw_...` to load a running server instead.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run --release -q -p podwarden-server --example server-load -- \
    --agents 10000 --interval 30 --duration 60 "$@"
