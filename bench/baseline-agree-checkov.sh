#!/usr/bin/env bash
# Cross-checks `podwarden scan k8s` against checkov on real-world Kubernetes manifests, on the
# checks both implement (bench/baseline_agree_checkov.py holds the checkov id <-> podwarden
# check id mapping).
#
# Runs both tools over the same corpus (default: the one bench/fetch-k8s-corpus.sh builds,
# fetched first when missing), prints the per-check agreement table and the objects only one
# tool evaluated, and lists every disagreement (file, object, podwarden's containers, checkov's
# evaluated key, which tool flagged) in a TSV file.
#
# Usage: bench/baseline-agree-checkov.sh [CORPUS_DIR] [OUT_DIR]
#   CORPUS_DIR  default /tmp/podwarden-k8s-corpus
#   OUT_DIR     reports and disagreements.tsv (default: a new temporary directory, kept)
# Environment: PODWARDEN_BIN (default: target/release/podwarden, built here),
#              CHECKOV (default: checkov on PATH, else a venv in ~/.cache/podwarden-bench).
set -euo pipefail
cd "$(dirname "$0")/.."

corpus=${1:-/tmp/podwarden-k8s-corpus}
out=${2:-$(mktemp -d)}
mkdir -p "$out"
if [ ! -d "$corpus" ] || [ -z "$(ls -A "$corpus")" ]; then
  bench/fetch-k8s-corpus.sh "$corpus" >&2
fi

bin=${PODWARDEN_BIN:-target/release/podwarden}
if [ -z "${PODWARDEN_BIN:-}" ]; then
  cargo build --release -p podwarden-cli >&2
fi
checkov=${CHECKOV:-$(command -v checkov || true)}
if [ -z "$checkov" ]; then
  venv=${HOME}/.cache/podwarden-bench/checkov-venv
  [ -x "$venv/bin/checkov" ] || { python3 -m venv "$venv" && "$venv/bin/pip" install -q checkov; }
  checkov=$venv/bin/checkov
fi

# Level all: the Pod Security Standards (restricted includes baseline) plus hardening, the
# union of what checkov's Kubernetes checks cover. Exit code 2 (input errors: unrendered
# templates and other documents that do not parse) is expected on this corpus.
"$bin" scan k8s "$corpus" --format json --output "$out/podwarden.json" --quiet || true
# Without --quiet: the passed checks are needed to tell "passed" from "not evaluated".
"$checkov" -d "$corpus" --framework kubernetes --compact --skip-download -o json \
  >"$out/checkov.json" 2>"$out/checkov.err" || true
echo "checkov $("$checkov" --version); podwarden $("$bin" --version 2>/dev/null || echo "$bin")"
python3 bench/baseline_agree_checkov.py "$out/podwarden.json" "$out/checkov.json" "$corpus" \
  "$out/disagreements.tsv"
python3 - "$out/podwarden.json" "$out/checkov.json" <<'EOF'
import json, sys
pw = json.load(open(sys.argv[1]))
ck = json.load(open(sys.argv[2]))
if isinstance(ck, list):
    ck = next(d for d in ck if d.get("check_type") == "kubernetes")
print(f"documents podwarden reports as unreadable (file, document, line, reason): {len(pw['errors'])}; "
      f"checkov parsing errors: {ck['summary'].get('parsing_errors')}")
for e in pw["errors"]:
    print(f"  {e['file'].rsplit('/', 1)[-1]}:{e['line']}: {e['message'][:120]}")
EOF
echo "disagreements: $out/disagreements.tsv ($(($(wc -l <"$out/disagreements.tsv") - 1)) rows)"
