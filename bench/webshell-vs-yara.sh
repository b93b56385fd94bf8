#!/usr/bin/env bash
# Webshell scan throughput and detection counts: `podwarden scan webshell` (release build)
# against the `yara` command-line tool (Debian package `yara`) running our own rule files
# (rules/yara/*.yar, written in the syntax both yara-x and libyara accept).
#
#   bench/webshell-vs-yara.sh            (needs: apt-get install yara; fetches the corpus)
#   PODWARDEN_BASELINE=/tmp/podwarden-before bench/webshell-vs-yara.sh
#                                        (adds a row for another podwarden binary, e.g. a copy
#                                         of target/release/podwarden built before a rule change)
#
# The tree scanned is the benign Debian web corpus (bench/fetch-web-corpus.sh) plus our own
# malicious test samples, hard-linked into one directory. Each tool runs once to warm the page
# cache, then RUNS times; the best wall time and the least CPU time (user + sys) are reported,
# each also as MB/s over the tree's total size.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"
runs="${RUNS:-3}"
baseline="${PODWARDEN_BASELINE:-}"
corpus="${PODWARDEN_WEB_CORPUS:-/tmp/podwarden-web-corpus/tree}"
work="${BENCH_DIR:-/tmp/podwarden-webshell-bench}"

command -v yara >/dev/null || { echo "yara not found: apt-get install yara" >&2; exit 1; }
if [[ ! -d "$corpus" ]]; then
  bench/fetch-web-corpus.sh "$(dirname "$corpus")"
fi
cargo build --release -p podwarden-cli >&2
podwarden="$repo/target/release/podwarden"

rm -rf "$work"
mkdir -p "$work/tree"
cp -al "$corpus" "$work/tree/benign" 2>/dev/null || cp -a "$corpus" "$work/tree/benign"
cp -a crates/podwarden-webshell/tests/data/malicious "$work/tree/malicious"
cat rules/yara/*.yar > "$work/rules.yar"

tree_bytes=$(find "$work/tree" -type f -printf '%s\n' | awk '{s+=$1} END {print s}')
tree_files=$(find "$work/tree" -type f | wc -l)
malicious_files=$(find "$work/tree/malicious" -type f | wc -l)
echo "tree: $tree_files files, $((tree_bytes / 1048576)) MiB ($malicious_files malicious samples); $(nproc) cores"

# best_of CMD...: runs once to warm up, then $runs times; prints "WALL CPU": the best wall time
# and the least CPU time (user + sys, all threads) in seconds. Other work on the machine
# stretches wall times; CPU time is the fairer comparison then.
best_of() {
  "$@" >/dev/null 2>&1 || true
  local best_wall="" best_cpu="" measured wall user sys cpu
  for _ in $(seq "$runs"); do
    measured=$( { TIMEFORMAT='%R %U %S'; time "$@" >/dev/null 2>&1 || true; } 2>&1 )
    read -r wall user sys <<<"$measured"
    cpu=$(echo "$user + $sys" | bc -l)
    if [[ -z "$best_wall" ]] || (( $(echo "$wall < $best_wall" | bc -l) )); then best_wall=$wall; fi
    if [[ -z "$best_cpu" ]] || (( $(echo "$cpu < $best_cpu" | bc -l) )); then best_cpu=$cpu; fi
  done
  echo "$best_wall $best_cpu"
}

if [[ -n "$baseline" ]]; then
  read -r base_time base_cpu <<<"$(best_of "$baseline" scan webshell "$work/tree" --format json --output "$work/baseline.json")"
fi
read -r pw_time pw_cpu <<<"$(best_of "$podwarden" scan webshell "$work/tree" --format json --output "$work/podwarden.json")"
read -r yara_time yara_cpu <<<"$(best_of sh -c "yara -r -w -p $(nproc) '$work/rules.yar' '$work/tree' > '$work/yara.txt'")"

# Detections: files reported, split into samples found and benign files flagged.
"$podwarden" scan webshell "$work/tree" --format json --output "$work/podwarden.json" >/dev/null
yara -r -w -p "$(nproc)" "$work/rules.yar" "$work/tree" > "$work/yara.txt" 2>/dev/null || true
detected_paths() {
  python3 -c 'import json,sys; [print(d["path"]) for d in json.load(open(sys.argv[1]))["detections"]]' "$1" | sort -u
}
pw_paths=$(detected_paths "$work/podwarden.json")
yara_paths=$(awk '{ $1=""; sub(/^ /, ""); print }' "$work/yara.txt" | sort -u)
count() { if [[ -z "$1" ]]; then echo 0; else grep -c -- "$2" <<<"$1" || true; fi; }

mbps() { echo "scale=1; $tree_bytes / 1048576 / $1" | bc -l; }
printf '%-22s %8s %8s %8s %12s %14s %16s\n' tool "wall s" "MB/s" "CPU s" "MB/CPU-s" "samples found" "benign flagged"
if [[ -n "$baseline" ]]; then
  "$baseline" scan webshell "$work/tree" --format json --output "$work/baseline.json" >/dev/null
  base_paths=$(detected_paths "$work/baseline.json")
  printf '%-22s %8.2f %8s %8.2f %12s %14s %16s\n' "podwarden baseline" "$base_time" "$(mbps "$base_time")" \
    "$base_cpu" "$(mbps "$base_cpu")" \
    "$(count "$base_paths" /malicious/)/$malicious_files" "$(count "$base_paths" /benign/)"
fi
printf '%-22s %8.2f %8s %8.2f %12s %14s %16s\n' "podwarden (yara-x)" "$pw_time" "$(mbps "$pw_time")" \
  "$pw_cpu" "$(mbps "$pw_cpu")" \
  "$(count "$pw_paths" /malicious/)/$malicious_files" "$(count "$pw_paths" /benign/)"
printf '%-22s %8.2f %8s %8.2f %12s %14s %16s\n' "yara $(yara --version)" "$yara_time" "$(mbps "$yara_time")" \
  "$yara_cpu" "$(mbps "$yara_cpu")" \
  "$(count "$yara_paths" /malicious/)/$malicious_files" "$(count "$yara_paths" /benign/)"
echo "reports: $work/podwarden.json, $work/yara.txt"
