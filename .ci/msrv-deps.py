#!/usr/bin/env python3
"""The MSRV, checked: every package in the dependency graph (all features, all targets, all
platforms) declares a rust-version at most the workspace's, and every member declares the
workspace's own. Reads `cargo metadata --format-version 1` on stdin.

A dependency that declares no rust-version cannot be checked this way; they are listed, so a
reader sees what the check could not see (none fails it: most small crates declare none)."""

import json
import sys


def version(text):
    parts = [int(p) for p in text.split(".")]
    return tuple(parts + [0] * (3 - len(parts)))


meta = json.load(sys.stdin)
members = set(meta["workspace_members"])
ours = {p["rust_version"] for p in meta["packages"] if p["id"] in members}
if len(ours) != 1 or None in ours:
    sys.exit(f"the workspace members must all declare one rust-version; they declare {ours}")
msrv = ours.pop()

too_new, undeclared = [], []
for p in meta["packages"]:
    if p["id"] in members:
        continue
    rv = p.get("rust_version")
    if rv is None:
        undeclared.append(f"{p['name']} {p['version']}")
    elif version(rv) > version(msrv):
        too_new.append(f"{p['name']} {p['version']} needs Rust {rv}")

checked = len(meta["packages"]) - len(members) - len(undeclared)
print(f"MSRV {msrv}: {checked} dependencies declare a rust-version at most {msrv}"
      if not too_new else f"MSRV {msrv}:")
print(f"  {len(undeclared)} declare none: {', '.join(sorted(undeclared))}")
if too_new:
    sys.exit("dependencies newer than the MSRV:\n  " + "\n  ".join(sorted(too_new)))
