#!/usr/bin/env bash
# Side-by-side benchmark of `podwarden scan k8s` and checkov on Kubernetes manifests.
#
# Builds a corpus of >= 100,000 pods by replicating the upstream Pod Security Standards
# fixtures (../shared/compat/psa, 4,537 one-pod files) into a temporary directory, then
# times the release `podwarden scan k8s` over all of it and checkov over a subset (checkov is
# far slower; its rate is scaled), reporting manifests per second and max RSS for both.
#
# Usage: bench/baseline-vs-checkov.sh [COPIES] [CHECKOV_FILES]
#   COPIES         copies of the fixture tree (default 23 -> 104,351 pods)
#   CHECKOV_FILES  files given to checkov (default 1000; 0 skips checkov)
# Environment: PODWARDEN_BIN (default: target/release/podwarden, built here),
#              CHECKOV (default: checkov on PATH, else a venv in ~/.cache/podwarden-bench).
# Needs: /usr/bin/time (Debian package `time`), python3 with venv/pip for checkov.
set -euo pipefail
cd "$(dirname "$0")/.."

copies=${1:-23}
checkov_files=${2:-1000}
fixtures=../shared/compat/psa
[ -d "$fixtures/baseline" ] || { echo "missing fixtures at $fixtures" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "needs /usr/bin/time (apt-get install time)" >&2; exit 1; }

bin=${PODWARDEN_BIN:-target/release/podwarden}
if [ -z "${PODWARDEN_BIN:-}" ]; then
  cargo build --release -p podwarden-cli >&2
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
corpus=$work/corpus
mkdir -p "$corpus"
for i in $(seq 1 "$copies"); do
  mkdir -p "$corpus/copy$i"
  cp -r "$fixtures/baseline" "$fixtures/restricted" "$corpus/copy$i/"
done
files=$(find "$corpus" -name '*.yaml' | wc -l)
bytes=$(du -sb "$corpus" | cut -f1)
echo "corpus: $files manifests (one pod each), $((bytes / 1024 / 1024)) MiB, in $corpus"

# measure NAME CMD...: runs CMD under /usr/bin/time; prints wall seconds, CPU seconds
# (user + system, which a loaded machine does not inflate) and max RSS (KiB).
measure() {
  local name=$1; shift
  /usr/bin/time -f '%e %U %S %M' -o "$work/$name.time" "$@" >"$work/$name.out" 2>"$work/$name.err" || true
  # (the last line: /usr/bin/time puts "Command exited with non-zero status" first)
  read -r secs user sys rss < <(tail -n 1 "$work/$name.time")
  echo "$secs $(python3 -c "print(round($user + $sys, 2))") $rss"
}

echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
read -r pw_secs pw_cpu pw_rss < <(measure podwarden "$bin" scan k8s "$corpus" --format json --output "$work/podwarden.json" --quiet)
pw_findings=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['summary']['findings'])" "$work/podwarden.json")
echo "podwarden (level all, JSON report): $files manifests in ${pw_secs}s wall / ${pw_cpu}s CPU = $(python3 -c "print(round($files / max($pw_secs, 0.001)))") manifests/s wall, $(python3 -c "print(round($files / max($pw_cpu, 0.001)))") per CPU-second; max RSS $((pw_rss / 1024)) MiB; $pw_findings findings"
rm -f "$work/podwarden.json"

read -r pr_secs pr_cpu pr_rss < <(measure podwarden-restricted "$bin" scan k8s "$corpus" --level restricted --format json --output /dev/null --quiet)
echo "podwarden (--level restricted): ${pr_secs}s wall / ${pr_cpu}s CPU, max RSS $((pr_rss / 1024)) MiB"

if [ "$checkov_files" -gt 0 ]; then
  checkov=${CHECKOV:-$(command -v checkov || true)}
  if [ -z "$checkov" ]; then
    venv=${HOME}/.cache/podwarden-bench/checkov-venv
    [ -x "$venv/bin/checkov" ] || { python3 -m venv "$venv" && "$venv/bin/pip" install -q checkov; }
    checkov=$venv/bin/checkov
  fi
  subset=$work/subset
  mkdir -p "$subset"
  # (a list file, not a pipe into head: with pipefail, head's early exit would stop the script)
  find "$corpus" -name '*.yaml' | sort >"$work/all-files"
  i=0
  while read -r f && [ "$i" -lt "$checkov_files" ]; do
    i=$((i + 1))
    cp "$f" "$subset/$(printf '%07d' "$i").yaml"
  done <"$work/all-files"
  n=$(find "$subset" -name '*.yaml' | wc -l)
  # --skip-download: no network look-ups (this machine has none to offer anyway).
  read -r ck_secs ck_cpu ck_rss < <(measure checkov "$checkov" -d "$subset" --framework kubernetes --quiet --compact --skip-download -o json)
  echo "checkov $("$checkov" --version) (all its Kubernetes checks, JSON report): $n manifests in ${ck_secs}s wall / ${ck_cpu}s CPU = $(python3 -c "print(round($n / max($ck_secs, 0.001), 1))") manifests/s; max RSS $((ck_rss / 1024)) MiB"
  python3 -c "
files, n = $files, $n
pw_wall, pw_cpu, ck_wall, ck_cpu = $pw_secs, $pw_cpu, $ck_secs, $ck_cpu
print(f'checkov scaled to {files} manifests: ~{ck_wall / n * files:.0f}s wall')
print(f'podwarden is {ck_wall / n * files / max(pw_wall, 0.001):.0f}x faster by wall time, {ck_cpu / n * files / max(pw_cpu, 0.001):.0f}x by CPU time')
"
fi
