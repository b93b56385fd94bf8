#!/usr/bin/env python3
"""Convert crates.io OSV records into a RustSec advisory-db directory, for cargo-audit.

    bench/osv-to-rustsec.py OSV_DIR OUT_DIR

Reads every `*.json` OSV record under OSV_DIR (recursively) whose affected package is in the
`crates.io` ecosystem and writes `OUT_DIR/crates/<package>/<id>.md` in the RustSec format: a
```toml front matter ([advisory], [affected], [versions]) followed by the Markdown title and
description. cargo-audit reads it with `--db OUT_DIR --no-fetch`; with `--no-fetch` the rustsec
crate opens the directory as plain files (`Database::open`), so no git repository is needed.

Range conversion (SEMVER events, the inverse of the rustsec crate's OSV export). RustSec lists
the versions that are *not* affected; a version is vulnerable when it matches none of them:
  - versions below the first `introduced` (unless "0"/"0.0.0-0") -> unaffected `< introduced`
  - versions between `fixed` F and the next `introduced` I       -> patched `>= F, < I`
  - versions from the last `fixed` F on                          -> patched `>= F`
  - `last_affected` L (not in the slice, handled anyway)         -> unaffected `> L[, < I]`
Records with several affected packages, non-SEMVER ranges only, or explicit `versions` lists
that ranges do not cover are reported on stderr and skipped (none occur in the RustSec-derived
slice). The script prints one line per skipped record and a final count.
"""

import json
import re
import sys
from pathlib import Path

SEMVER = re.compile(r"^(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$")


def semver_key(version):
    """Sort key for a SemVer 2.0 version ("0" sorts first, as OSV's `introduced: "0"`)."""
    if version == "0":
        return ((-1, -1, -1), 0, ())
    match = SEMVER.match(version)
    if not match:
        raise ValueError(f"not a SemVer version: {version!r}")
    major, minor, patch, pre = match.groups()
    core = (int(major), int(minor), int(patch))
    if pre is None:
        return (core, 1, ())
    idents = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in pre.split("."))
    return (core, 0, idents)


def toml_string(text):
    # A TOML basic string accepts the escapes json.dumps emits (\" \\ \n \t \uXXXX).
    return json.dumps(text, ensure_ascii=False)


def toml_list(items):
    return "[" + ", ".join(toml_string(i) for i in items) + "]"


def ranges_to_rustsec(events):
    """OSV SEMVER events -> (patched, unaffected) RustSec requirement lists."""
    kinds = ("introduced", "fixed", "last_affected", "limit")
    flat = []
    for event in events:
        (kind, version), = event.items()
        if kind not in kinds:
            raise ValueError(f"unknown event {kind!r}")
        flat.append((semver_key(version), kinds.index(kind), kind, version))
    flat.sort()
    patched, unaffected = [], []
    # Walk the sorted events; `lower` is the start of the current not-affected stretch and
    # `lower_kind` says whether it came from a fix (patched) or from last_affected (unaffected).
    first_intro = next((v for _, _, k, v in flat if k == "introduced"), None)
    # "0.0.0-0" is the lowest SemVer version: the rustsec export writes it for "every version".
    if first_intro is not None and first_intro not in ("0", "0.0.0-0"):
        unaffected.append(f"< {first_intro}")
    lower = None
    for _, _, kind, version in flat:
        if kind == "introduced":
            if lower is not None:
                (lower_kind, lower_req) = lower
                (patched if lower_kind == "fixed" else unaffected).append(
                    f"{lower_req}, < {version}"
                )
                lower = None
        elif kind == "fixed":
            lower = ("fixed", f">= {version}")
        elif kind == "last_affected":
            lower = ("last_affected", f"> {version}")
        elif kind == "limit":
            raise ValueError("limit events have no RustSec equivalent")
    if lower is not None:
        (lower_kind, lower_req) = lower
        (patched if lower_kind == "fixed" else unaffected).append(lower_req)
    return patched, unaffected


def convert(record):
    """One OSV record -> (package, Markdown text), or raise ValueError saying why not."""
    affected = [a for a in record.get("affected", []) if a["package"]["ecosystem"] == "crates.io"]
    if len(affected) != 1:
        raise ValueError(f"{len(affected)} crates.io packages (RustSec has one per advisory)")
    (entry,) = affected
    package = entry["package"]["name"]
    semver_ranges = [r for r in entry.get("ranges", []) if r["type"] == "SEMVER"]
    if len(semver_ranges) != 1:
        raise ValueError(f"{len(semver_ranges)} SEMVER ranges (expected 1)")
    if entry.get("versions"):
        raise ValueError("explicit versions list")
    patched, unaffected = ranges_to_rustsec(semver_ranges[0]["events"])

    db_specific = entry.get("database_specific") or {}
    references = record.get("references", [])
    report = next((r["url"] for r in references if r["type"] == "REPORT"), None)
    other_refs = [
        r["url"]
        for r in references
        if r["type"] not in ("PACKAGE", "REPORT")
        and not r["url"].startswith("https://rustsec.org/advisories/")
    ]
    lines = ["```toml", "[advisory]"]
    lines.append(f"id = {toml_string(record['id'])}")
    lines.append(f"package = {toml_string(package)}")
    lines.append(f"date = {toml_string(record['published'][:10])}")
    if report:
        lines.append(f"url = {toml_string(report)}")
    if other_refs:
        lines.append(f"references = {toml_list(other_refs)}")
    if db_specific.get("categories"):
        lines.append(f"categories = {toml_list(db_specific['categories'])}")
    if db_specific.get("cvss"):
        lines.append(f"cvss = {toml_string(db_specific['cvss'])}")
    if db_specific.get("informational"):
        lines.append(f"informational = {toml_string(db_specific['informational'])}")
    lines.append(f"aliases = {toml_list(record.get('aliases', []))}")
    if record.get("related"):
        lines.append(f"related = {toml_list(record['related'])}")
    if record.get("withdrawn"):
        lines.append(f"withdrawn = {toml_string(record['withdrawn'][:10])}")
    affects = (entry.get("ecosystem_specific") or {}).get("affects") or {}
    if affects.get("os") or affects.get("arch"):
        lines.append("")
        lines.append("[affected]")
        if affects.get("arch"):
            lines.append(f"arch = {toml_list(affects['arch'])}")
        if affects.get("os"):
            lines.append(f"os = {toml_list(affects['os'])}")
    lines.append("")
    lines.append("[versions]")
    lines.append(f"patched = {toml_list(patched)}")
    if unaffected:
        lines.append(f"unaffected = {toml_list(unaffected)}")
    lines.append("```")
    lines.append("")
    title = (record.get("summary") or record["id"]).strip()
    lines.append(f"# {title}")
    lines.append("")
    lines.append((record.get("details") or title).strip())
    lines.append("")
    return package, "\n".join(lines)


def main(argv):
    if len(argv) != 3:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    source, out = Path(argv[1]), Path(argv[2])
    if not source.is_dir():
        print(f"osv-to-rustsec: {source}: not a directory", file=sys.stderr)
        return 1
    written = skipped = 0
    for path in sorted(source.rglob("*.json")):
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            print(f"osv-to-rustsec: skipped {path}: {err}", file=sys.stderr)
            skipped += 1
            continue
        if not isinstance(record, dict) or not any(
            a.get("package", {}).get("ecosystem") == "crates.io" for a in record.get("affected", [])
        ):
            continue
        try:
            package, text = convert(record)
        except (KeyError, ValueError) as err:
            print(f"osv-to-rustsec: skipped {path}: {err}", file=sys.stderr)
            skipped += 1
            continue
        target = out / "crates" / package / f"{record['id']}.md"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        written += 1
    print(f"osv-to-rustsec: wrote {written} advisories to {out}, skipped {skipped}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
