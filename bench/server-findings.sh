#!/usr/bin/env bash
# Findings load benchmark: 200 agents upload a batch of 10 detections every second (2,000
# detections/s) while 10,000 agents heartbeat every 30 s (~333/s), open loop against an
# in-process server on a temporary SQLite file; then a tenant with 10,000 assets and 100,000
# alerts and the timing of the console's list queries (assets at risk, alerts, filters).
# Prints throughput and latency percentiles. Extra arguments go to the generator, e.g.
# `--duration 120`, `--noisy-agents 400`, `--query-alerts 200000`.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run --release -q -p podwarden-server --example findings-load -- \
    --agents 10000 --interval 30 --noisy-agents 200 --batch 10 --duration 60 \
    --query-assets 10000 --query-alerts 100000 "$@"
