#!/usr/bin/env python3
"""The size rule of docs/architecture.md, measured as universal-ctags sees the code: under src/,
no function over 120 lines, no class or struct over 450, no file over 800. Lists every one over
its limit and fails; fails too when it measures nothing (a rule that measured nothing proves
nothing).

    sizes.py SRC_DIR

Needs universal-ctags (tools/install-deps.sh installs it)."""

import json
import os
import shutil
import subprocess
import sys

LIMITS = {"function": 120, "class": 450, "struct": 450}
FILE_LIMIT = 800


def main(src):
    if not shutil.which("ctags"):
        print("FAIL: ctags (universal-ctags) is not installed")
        return 1
    version = subprocess.run(["ctags", "--version"], capture_output=True, text=True).stdout
    if "Universal Ctags" not in version:
        print("FAIL: ctags is not universal-ctags, whose JSON output this reads")
        return 1
    tags = subprocess.run(
        ["ctags", "--output-format=json", "--fields=+ne", "--languages=C++", "--map-C++=+.hpp",
         "--sort=no", "-R", "-o", "-", src],
        capture_output=True, text=True, check=True).stdout
    problems, measured = [], 0
    for line in tags.splitlines():
        tag = json.loads(line)
        limit = LIMITS.get(tag.get("kind"))
        if limit is None or "end" not in tag:
            continue
        measured += 1
        length = tag["end"] - tag["line"] + 1
        if length > limit:
            problems.append(f"{tag['path']}:{tag['line']}: {tag['kind']} {tag['name']} is "
                            f"{length} lines, over {limit}")
    files = 0
    for root, _, names in os.walk(src):
        for name in sorted(names):
            if not name.endswith((".cpp", ".hpp")):
                continue
            files += 1
            path = os.path.join(root, name)
            with open(path, encoding="utf-8") as f:
                lines = sum(1 for _ in f)
            if lines > FILE_LIMIT:
                problems.append(f"{path}: {lines} lines, over {FILE_LIMIT}")
    if files == 0 or measured == 0:
        print(f"FAIL: nothing measured under {src} ({files} files, {measured} functions and "
              "classes)")
        return 1
    for problem in problems:
        print("FAIL:", problem)
    if problems:
        print(f"{len(problems)} over the size rule (docs/architecture.md): split them by concern")
        return 1
    print(f"ok: {files} files, {measured} functions and classes under {src} within the size rule")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print("usage: sizes.py SRC_DIR", file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1]))
