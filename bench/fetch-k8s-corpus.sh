#!/usr/bin/env bash
# Builds a corpus of real-world Kubernetes manifests that nobody in this project wrote, for
# cross-checking `podwarden scan k8s` against checkov (bench/baseline-agree-checkov.sh).
#
# Sources, all from Debian bookworm through apt (no other network):
#   - the Kubernetes 1.20 source package (`kubernetes`): e2e testing manifests, cluster addons,
#     kubectl/hack test data, documentation examples;
#   - the etcd 3.4 source package (`etcd`): its Kubernetes deployment examples;
#   - the `ansible` binary package: the community.okd collection's manifests.
# Only YAML/JSON files that hold a pod-bearing object (Pod, PodTemplate, ReplicationController,
# ReplicaSet, Deployment, DaemonSet, StatefulSet, Job, CronJob) are kept. Upstream's
# staging/src/k8s.io/api/testdata goes to DIR.roundtrip instead: it is fuzzer output for
# round-trip tests, not manifests anybody would apply. Files keep their upstream relative path (flattened with `__`)
# so a finding can be traced back. Nothing is committed: the corpus is third-party data.
#
# Source packages are fetched with a private apt configuration (its own sources list with a
# deb-src line and its own lists directory), so the machine's apt setup is left alone.
#
# Usage: bench/fetch-k8s-corpus.sh [DIR]   (default /tmp/podwarden-k8s-corpus)
# Writes DIR and DIR.roundtrip (see below); prints the number of files in each.
set -euo pipefail

out=${1:-/tmp/podwarden-k8s-corpus}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

mkdir -p "$work/apt/lists/partial" "$work/src" "$out"
echo 'deb-src http://deb.debian.org/debian bookworm main' >"$work/apt/sources.list"
apt_opts=(-o "Dir::Etc::SourceList=$work/apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
  -o "Dir::State::Lists=$work/apt/lists" -o Debug::NoLocking=1 -o APT::Sandbox::User=root)
apt-get "${apt_opts[@]}" -qq update
(cd "$work/src" && apt-get "${apt_opts[@]}" -qq source --download-only kubernetes etcd 2>&1 |
  grep -v 'unsandboxed' || true)
(cd "$work/src" && apt-get -o APT::Sandbox::User=root -qq download ansible 2>&1 | grep -v 'unsandboxed' || true)

mkdir -p "$work/tree/kubernetes" "$work/tree/etcd" "$work/tree/ansible"
# Besides .yaml/.yml/.json: the addon templates (.yaml.in, .yaml.sed, .yaml.base: YAML with
# __PILLAR__ placeholders or salt/Go templates), the GCE static pod .manifest files and the
# e2e `pod` file; they are copied with .yaml appended so that both tools read them.
tar xzf "$work"/src/kubernetes_*.orig.tar.gz -C "$work/tree/kubernetes" --exclude='*/vendor/*' \
  --wildcards '*.yaml' '*.yml' '*.json' '*.in' '*.sed' '*.base' '*.manifest' '*/testing-manifests/pod'
tar xzf "$work"/src/etcd_*.orig.tar.gz -C "$work/tree/etcd" --wildcards '*.yaml' '*.yml' '*.json'
dpkg-deb -x "$work"/src/ansible_*.deb "$work/tree/ansible"

pod_kinds='(Pod|PodTemplate|ReplicationController|ReplicaSet|Deployment|DaemonSet|StatefulSet|Job|CronJob)'
# A line `kind: X` (YAML, possibly a list item) or `"kind": "X"` (JSON).
pattern="^[[:space:]]*(- )?\"?kind\"?:[[:space:]]*\"?${pod_kinds}\"?,?[[:space:]]*$"
(cd "$work/tree" && grep -rlE "$pattern" --include='*.yaml' --include='*.yml' --include='*.json' \
  --include='*.in' --include='*.sed' --include='*.base' --include='*.manifest' --include=pod .) |
  sort >"$work/files"
# copy LIST DIR: flattens each path of LIST (relative to the tree) into DIR.
copy() {
  while read -r rel; do
    rel=${rel#./}
    flat=${rel//\//__}
    case $flat in
      *.yaml | *.yml | *.json) ;;
      *) flat=$flat.yaml ;;
    esac
    cp "$work/tree/$rel" "$2/$flat"
  done <"$1"
}
grep -v '/staging/src/k8s.io/api/testdata/' "$work/files" >"$work/real" || true
copy "$work/real" "$out"
echo "$(find "$out" -type f | wc -l) files in $out"
# The round-trip fuzz data, kept apart: valid-shaped objects with random values (negative
# UIDs, odd capability names, ephemeral containers), good for finding edge cases.
mkdir -p "$out.roundtrip"
grep '/staging/src/k8s.io/api/testdata/' "$work/files" >"$work/roundtrip" || true
copy "$work/roundtrip" "$out.roundtrip"
echo "$(find "$out.roundtrip" -type f | wc -l) files in $out.roundtrip"
