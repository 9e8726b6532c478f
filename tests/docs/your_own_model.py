#!/usr/bin/python3
"""Run every snippet of a walkthrough page, docs/your-own-model.md, as a reader would.

Usage: your_own_model.py BINARY PAGE [GROUP]

The page's fenced blocks are of two kinds, and no other kind is allowed (a snippet that is
not run could be wrong):

- ```python file=NAME: a script, written to NAME in an empty folder;
- ```console [group=GROUP]: commands, each a line `$ COMMAND`, run with bash in that folder in
  the page's order; the lines under a command are what it prints on standard output, exactly,
  except that a line `…` stands for any number of lines left out (at the start, between, or at
  the end). A command with no lines under it must print nothing. Every command must exit 0.

The console blocks without `group=` always run; GROUP adds those with `group=GROUP`, in the
page's order, so that they find what the earlier blocks made.

The folder holds what the reader has by then: the page's scripts, tools/attn_capture.py (the
page tells them to copy it), `attn-trace` (BINARY) and Debian's python3 first on PATH, and on
PYTHONPATH tests/docs/stand_in/, whose `transformers` stands in for Hugging Face's, which
Debian does not package (its docstring says what it builds). Every script must be run by some
command. Prints what it runs and `N passed, M failed`; exits 1 on any failure or when the page
has no console block in GROUP.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FENCE = re.compile(r"^```(\S*)(.*)$")


def parse(page):
    """The page's blocks: (kind, attributes, first line number, lines); problems."""
    blocks, problems = [], []
    with open(page, encoding="utf-8") as f:
        lines = f.read().split("\n")
    i = 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        kind, attributes = match.group(1), dict(a.split("=", 1) for a in match.group(2).split() if "=" in a)
        start, body = i + 1, []
        i += 1
        while i < len(lines) and lines[i].rstrip() != "```":
            body.append(lines[i])
            i += 1
        if i == len(lines):
            problems.append(f"{page}:{start}: a ``` block is never closed")
        i += 1
        if kind == "python" and "file" in attributes or kind == "console":
            blocks.append((kind, attributes, start, body))
        else:
            problems.append(f"{page}:{start}: a ```{kind}{match.group(2)} block is not run: write "
                            "```python file=NAME for a script, ```console for commands")
    return blocks, problems


def commands(body):
    """[(command, expected lines)] of one console block."""
    out = []
    for line in body:
        if line.startswith("$ "):
            out.append((line[2:], []))
        elif out:
            out[-1][1].append(line.rstrip())
        elif line.strip():
            raise ValueError(f"output before any command: {line!r}")
    return out


def matches(expected, actual):
    """Whether `actual` is `expected` with each `…` line standing for zero or more lines."""
    segments, current = [], []
    for line in expected:
        if line.strip() == "…":
            segments.append(current)
            current = []
        else:
            current.append(line)
    segments.append(current)
    if len(segments) == 1:
        return expected == actual
    first, middle, last = segments[0], segments[1:-1], segments[-1]
    if actual[:len(first)] != first:
        return False
    position = len(first)
    for segment in middle:
        found = next((p for p in range(position, len(actual) - len(segment) + 1)
                      if actual[p:p + len(segment)] == segment), None)
        if found is None:
            return False
        position = found + len(segment)
    return len(actual) - len(last) >= position and (not last or actual[-len(last):] == last)


def main():
    if len(sys.argv) not in (3, 4):
        print("usage: your_own_model.py BINARY PAGE [GROUP]", file=sys.stderr)
        return 2
    binary, page = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    group = sys.argv[3] if len(sys.argv) == 4 else None
    blocks, problems = parse(page)
    scripts = {a["file"]: body for kind, a, _, body in blocks if kind == "python"}
    every_command = " ".join(line for kind, _, _, body in blocks if kind == "console" for line in body
                             if line.startswith("$ "))
    problems += [f"{page}: {name} is never run by a command" for name in scripts
                 if name not in every_command]
    chosen = [(start, a.get("group"), body) for kind, a, start, body in blocks
              if kind == "console" and a.get("group") in (None, group)]
    if not chosen:
        problems.append(f"{page}: no ```console block: nothing was checked")
    if group is not None and not any(a.get("group") == group for kind, a, _, _ in blocks):
        problems.append(f"{page}: no ```console block in group {group}: nothing was checked")
    for problem in problems:
        print(f"FAIL: {problem}")
    if problems:
        return 1

    passed = failed = 0
    with tempfile.TemporaryDirectory() as work:
        bin_dir = os.path.join(work, ".bin")
        os.mkdir(bin_dir)
        os.symlink(binary, os.path.join(bin_dir, "attn-trace"))
        os.symlink(sys.executable, os.path.join(bin_dir, "python3"))
        shutil.copy(os.path.join(ROOT, "tools", "attn_capture.py"), work)
        for name, body in scripts.items():
            with open(os.path.join(work, name), "w", encoding="utf-8") as f:
                f.write("\n".join(body) + "\n")
        env = dict(os.environ, PATH=f"{bin_dir}:/usr/bin:/bin",
                   PYTHONPATH=os.path.join(HERE, "stand_in"), PYTHONDONTWRITEBYTECODE="1")
        for start, _, body in chosen:
            try:
                steps = commands(body)
            except ValueError as error:
                print(f"FAIL: {page}:{start}: {error}")
                failed += 1
                continue
            for command, expected in steps:
                run = subprocess.run(["bash", "-c", command], cwd=work, env=env, text=True,
                                     stdin=subprocess.DEVNULL, capture_output=True, timeout=600)
                where = f"{os.path.relpath(page, ROOT)}:{start}: $ {command}"
                actual = [line.rstrip() for line in run.stdout.split("\n")]
                if actual and actual[-1] == "":
                    actual.pop()
                if run.returncode != 0:
                    print(f"FAIL: {where}\n  exits {run.returncode}:\n{run.stderr}{run.stdout}")
                    failed += 1
                elif not matches(expected, actual):
                    print(f"FAIL: {where}\n  prints something else than the page shows; it prints:")
                    print("\n".join(actual))
                    failed += 1
                else:
                    print(f"ok: {where}")
                    passed += 1
    print(f"{passed} passed, {failed} failed")
    return 1 if failed or passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
