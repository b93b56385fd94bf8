#!/usr/bin/env bash
# Cluster sync benchmark: the real kube-rs client lists 10,000 generated pods (pages of 500)
# from a fake Kubernetes API server on a loopback port, resolves their Deployments, and syncs
# them into a temporary SQLite store; prints the end-to-end time of a first sync, a sync with
# nothing changed, and one with 10% of the pods gone and 1% restarted.
# Extra arguments go to the example, e.g. `--pods 50000 --page-size 1000`.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run --release -q -p podwarden-server --example cluster-sync -- "$@"
