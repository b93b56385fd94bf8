#!/usr/bin/env bash
# The agent end-to-end test with an outage of the center of OUTAGE_SECS (default 30, the
# test's default too): a namespace pod keeps producing detections while the server is down;
# after it returns every detection must be there exactly once. Prints the observed
# attack-to-alert latencies and how long after the center's return the backlog arrived.
# Needs what the test needs: root, util-linux, busybox-static.
set -euo pipefail
cd "$(dirname "$0")/.."
PODWARDEN_E2E_OUTAGE_SECS="${OUTAGE_SECS:-30}" \
    cargo test -p podwarden-cli --test it agent_e2e -- --nocapture --test-threads 1 2>&1 |
    grep -E "^agent e2e|^test |test result|panicked|FAILED" 
