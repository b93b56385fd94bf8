#!/usr/bin/env python3
"""Agreement of `podwarden scan k8s` and checkov on the checks both implement.

Reads podwarden's JSON report and checkov's JSON report (with passed checks) of the same
corpus and compares them per (file, object, check): checkov decides per object (a container
check fails when any container fails), so a podwarden check counts as "flagged" for an object
when it has a finding on that object (restricted, where needed, to the findings that match
what the checkov check tests, e.g. hostPID for CKV_K8S_17).

Usage: baseline_agree_checkov.py PODWARDEN_JSON CHECKOV_JSON CORPUS_DIR [DISAGREEMENTS_TSV]
Prints the per-check table (objects both evaluated, both flagged, both passed, only podwarden,
only checkov, agreement %) and writes every disagreement (file, object, podwarden's
containers, checkov's evaluated key, which tool flagged) to DISAGREEMENTS_TSV (default: stdout
after the table). Objects that only one tool evaluated are counted separately.

Disagreement classes seen on bench/fetch-k8s-corpus.sh's corpora (checkov 3.3.30), and why:
- CKV_K8S_8/9 on Pods with restartPolicy Never/OnFailure: podwarden asks for probes only of
  long-running workloads (a liveness restart cannot happen under Never); checkov exempts only
  the Job and CronJob kinds.
- CKV_K8S_25 on NET_BIND_SERVICE (and the rest of the default set) added: the Baseline
  standard allows it; checkov fails any `add`.
- CKV_K8S_26 on `hostPort: "13380"` (a string; upstream's invalidPod2.json): the API server
  rejects it (int32 field), the standard's check reads typed objects.
- CKV_K8S_27 on hostPath `/`, `/var/run`, `/run/containerd/...`: they expose the runtime socket
  too; checkov matches only the exact path /var/run/docker.sock.
- CKV_K8S_16/20/23 on ephemeral containers: the standard covers spec.ephemeralContainers;
  checkov looks at containers and initContainers only.
- CKV_K8S_23 on runAsUser outside 0..2147483647 (API round-trip data): the API server rejects
  such a UID, so it proves no non-root user; checkov accepts any integer >= 1.
- Objects only podwarden evaluates: no metadata.name (generateName) and no labels,
  `kind: <Kind>List`, JSON files with `{{ }}` inside string values, a container `name:` null;
  checkov skips them without a word.
- Objects only checkov evaluates: documents with a duplicate mapping key, which podwarden
  reports as input errors (YAML forbids them and kubectl's decoder rejects them); checkov keeps
  the last value. checkov also reports no parsing error for unrendered templates, which
  podwarden lists with file, document and line.
Fixed in podwarden after this comparison: an invalid runAsUser counted as a non-root user
(hardening.root-container); `drop: [all]` in lower case counted as not dropping
(hardening.capabilities; the runtimes read it as ALL, the standard's check stays exact).
"""

import json
import os
import sys
from collections import defaultdict


POD_KINDS = {"Pod", "PodTemplate", "ReplicationController", "ReplicaSet", "Deployment", "DaemonSet",
             "StatefulSet", "Job", "CronJob"}


def has_message(*words):
    return lambda f: any(w in f["message"] for w in words)


def any_finding(_):
    return True


# checkov id -> (what checkov tests, podwarden check ids, predicate on a podwarden finding)
MAPPING = {
    "CKV_K8S_8": ("liveness probe", ["hardening.liveness-probe"], any_finding),
    "CKV_K8S_9": ("readiness probe", ["hardening.readiness-probe"], any_finding),
    "CKV_K8S_10": ("CPU requests", ["hardening.cpu-requests"], any_finding),
    "CKV_K8S_11": ("CPU limits", ["hardening.cpu-limits"], any_finding),
    "CKV_K8S_12": ("memory requests", ["hardening.memory-requests"], any_finding),
    "CKV_K8S_13": ("memory limits", ["hardening.memory-limits"], any_finding),
    "CKV_K8S_14": ("image tag fixed", ["hardening.image-tag"], any_finding),
    "CKV_K8S_16": ("privileged", ["pss.privileged"], any_finding),
    "CKV_K8S_17": ("hostPID", ["pss.hostNamespaces"], has_message("hostPID")),
    "CKV_K8S_18": ("hostIPC", ["pss.hostNamespaces"], has_message("hostIPC")),
    "CKV_K8S_19": ("hostNetwork", ["pss.hostNamespaces"], has_message("hostNetwork")),
    "CKV_K8S_20": ("allowPrivilegeEscalation", ["pss.allowPrivilegeEscalation"], any_finding),
    "CKV_K8S_21": ("default namespace", ["hardening.default-namespace"], any_finding),
    "CKV_K8S_22": ("read-only root fs", ["hardening.readonly-rootfs"], any_finding),
    "CKV_K8S_23": ("root containers", ["hardening.root-container"], any_finding),
    "CKV_K8S_25": ("added capabilities", ["pss.capabilities_baseline"], any_finding),
    "CKV_K8S_26": ("hostPort", ["pss.hostPorts"], any_finding),
    "CKV_K8S_27": ("docker socket", ["hardening.runtime-socket"], any_finding),
    "CKV_K8S_28": ("NET_RAW not dropped", ["hardening.capabilities"], any_finding),
    "CKV_K8S_31": ("seccomp profile", ["pss.seccompProfile_restricted", "pss.seccompProfile_baseline"], any_finding),
    "CKV_K8S_35": ("secrets in env", ["hardening.secret-env"], any_finding),
    "CKV_K8S_37": ("capabilities not dropped", ["hardening.capabilities"], any_finding),
    "CKV_K8S_38": ("SA token automount", ["hardening.sa-token-automount"], any_finding),
    "CKV_K8S_39": ("SYS_ADMIN added", ["hardening.dangerous-capabilities"], has_message('"SYS_ADMIN"')),
    "CKV_K8S_43": ("image digest", ["hardening.image-digest"], any_finding),
}


def object_key(file, kind, namespace, name):
    return (os.path.basename(file), kind, namespace or "default", name or "")


def load_podwarden(path):
    report = json.load(open(path))
    flagged = defaultdict(lambda: defaultdict(list))  # key -> check id -> [(container, message, finding)]
    objects = set()
    for f in report["findings"]:
        loc = f["location"]
        obj = loc["object"]
        key = object_key(loc["file"], obj["kind"], obj.get("namespace"), obj.get("name"))
        objects.add(key)
        container = loc.get("container")
        where = f"{container['kind']}:{container['name']}" if container else "pod"
        flagged[key][f["check_id"]].append((where, f["message"], f))
    return report, objects, flagged


def load_checkov(path):
    data = json.load(open(path))
    if isinstance(data, list):  # one entry per framework
        data = next(d for d in data if d.get("check_type") == "kubernetes")
    verdicts = {}  # (key, check) -> (result, evaluated keys)
    for result, entries in (("FAILED", data["results"].get("failed_checks", [])),
                            ("PASSED", data["results"].get("passed_checks", []))):
        for c in entries:
            if c["check_id"] not in MAPPING:
                continue
            kind, _, rest = c["resource"].partition(".")
            namespace, _, name = rest.partition(".")
            key = object_key(c["file_path"], kind, namespace, name)
            keys = ",".join(c["check_result"].get("evaluated_keys") or [])
            verdicts[(key, c["check_id"])] = (result, keys)
    return data, verdicts


def main():
    pw_path, ck_path, corpus = sys.argv[1:4]
    out_path = sys.argv[4] if len(sys.argv) > 4 else None
    pw_report, pw_objects, pw_flagged = load_podwarden(pw_path)
    _, ck_verdicts = load_checkov(ck_path)
    ck_objects = {key for key, _ in ck_verdicts if key[1] in POD_KINDS}
    # checkov names an object without metadata.name after its labels (e.g. a generateName pod
    # becomes "color-blue"): pair such leftovers per file and kind when that is unambiguous.
    renamed = {}
    for file, kind in {(k[0], k[1]) for k in pw_objects - ck_objects}:
        pw_left = [k for k in pw_objects - ck_objects if (k[0], k[1]) == (file, kind)]
        ck_left = [k for k in ck_objects - pw_objects if (k[0], k[1]) == (file, kind)]
        if len(pw_left) == 1 and len(ck_left) == 1:
            renamed[ck_left[0]] = pw_left[0]
    ck_verdicts = {(renamed.get(key, key), check): v for (key, check), v in ck_verdicts.items()}
    ck_objects = {renamed.get(key, key) for key in ck_objects}
    # Objects podwarden checked: every object with a finding (at level all every pod-bearing
    # object has at least one, e.g. image digest); compare on objects both tools evaluated.
    both = pw_objects & ck_objects
    rows = []
    disagreements = []
    for check, (what, ids, predicate) in MAPPING.items():
        counts = defaultdict(int)
        for key in sorted(both):
            verdict = ck_verdicts.get((key, check))
            if verdict is None:
                counts["checkov n/a"] += 1
                continue
            hits = [(w, m) for cid in ids for (w, m, f) in pw_flagged[key].get(cid, ()) if predicate(f)]
            pw = bool(hits)
            ck = verdict[0] == "FAILED"
            if pw and ck:
                counts["both"] += 1
            elif not pw and not ck:
                counts["neither"] += 1
            else:
                counts["only podwarden" if pw else "only checkov"] += 1
                containers = sorted({w for w, _ in hits})
                messages = sorted({m for _, m in hits})
                disagreements.append((check, "podwarden" if pw else "checkov", key[0],
                                      f"{key[1]} {key[2]}/{key[3]}", ";".join(containers),
                                      verdict[1], " | ".join(messages)[:300]))
        evaluated = counts["both"] + counts["neither"] + counts["only podwarden"] + counts["only checkov"]
        agree = counts["both"] + counts["neither"]
        rows.append((check, what, "+".join(ids), evaluated, counts["both"], counts["neither"],
                     counts["only podwarden"], counts["only checkov"],
                     100.0 * agree / evaluated if evaluated else 100.0))
    summary = pw_report.get("summary", {})
    print(f"corpus {corpus}: podwarden {summary.get('files')} files, {summary.get('documents')} documents, "
          f"{summary.get('pods')} pods, {summary.get('input_errors')} input errors; "
          f"objects evaluated by both: {len(both)}; podwarden only: {len(pw_objects - ck_objects)}; "
          f"checkov only: {len(ck_objects - pw_objects)}")
    header = ("checkov", "tests", "podwarden", "objects", "both", "neither", "only pw", "only ck", "agree%")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for r in rows:
        print(f"| {r[0]} | {r[1]} | {r[2]} | {r[3]} | {r[4]} | {r[5]} | {r[6]} | {r[7]} | {r[8]:.1f} |")
    total = sum(r[3] for r in rows)
    agree = sum(r[4] + r[5] for r in rows)
    print(f"overall: {agree}/{total} verdicts agree ({100.0 * agree / max(total, 1):.2f}%), "
          f"{len(disagreements)} disagreements")
    for label, keys in (("objects only podwarden evaluated", pw_objects - ck_objects),
                        ("objects only checkov evaluated", ck_objects - pw_objects)):
        for key in sorted(keys):
            print(f"{label}: {key[0]} {key[1]} {key[2]}/{key[3]}")
    out = open(out_path, "w") if out_path else sys.stdout
    print("check\tflagged by\tfile\tobject\tpodwarden containers\tcheckov evaluated keys\tpodwarden message",
          file=out)
    for d in disagreements:
        print("\t".join(d), file=out)


if __name__ == "__main__":
    main()
