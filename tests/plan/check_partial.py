#!/usr/bin/python3
"""Partial runs through the binary: what `--until`, `--stages` and `--focus` export equals the
whole export, cut the same way, number for number.

    check_partial.py BINARY INPUT...     each INPUT a bundled example's name or a file

For each INPUT it writes the whole JSON export (`run INPUT --format json --weighted-limit N`),
then, for every stage, `--until STAGE` and `--stages STAGE`, and for a few focus slices
`--focus …` alone and with `--until softmax`, and checks that the export of each has exactly the
stages it shows, with the whole export's words, and tensors equal to the whole export's (cut to
the focus: each cut axis keeps one index). It also checks that the memory estimate of a text run
of a long sequence never names the JSON writer. It prints one line per failure and exits 1 when
any failed or when nothing was checked.
"""

import itertools
import json
import subprocess
import sys

failures = []
checked = 0
LIMIT = "100000000"


def fail(what):
    failures.append(what)
    print("FAIL: " + what)


def export(binary, source, *flags):
    out = subprocess.run([binary, "run", source, "--format", "json", "--weighted-limit", LIMIT,
                          *flags], capture_output=True, text=True)
    if out.returncode != 0:
        fail(f"{source} {' '.join(flags)}: exit {out.returncode}: {out.stderr.strip()}")
        return None
    return json.loads(out.stdout)


def cut(data, shape, axes, keep):
    """The nested lists `data` of `shape` with each axis in `keep` cut to its one index."""
    if not axes:
        return data
    axis, rest = axes[0], axes[1:]
    rows = [data[keep[axis]]] if axis in keep else data
    return [cut(row, shape[1:], rest, keep) for row in rows]


def same(a, b):
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b  # the same decimals: the same double ("nan" and "-inf" as strings)


def compare(name, whole, part, keep, shown):
    global checked
    stages = [s for s in whole["stages"] if s["id"] in shown]
    got = part["stages"]
    if [s["id"] for s in got] != [s["id"] for s in stages]:
        fail(f"{name}: stages {[s['id'] for s in got]}, expected {[s['id'] for s in stages]}")
        return
    for w, p in zip(stages, got):
        for key in ("title", "formula", "shapes", "note"):
            if w.get(key) != p.get(key):
                fail(f"{name}: {w['id']}.{key} differs")
        for wt, pt in zip(w["tensors"], p["tensors"]):
            where = f"{name}: {w['id']}.{wt['name']}"
            if "data" not in wt or "data" not in pt:
                if ("data" in wt) != ("data" in pt):
                    fail(f"{where}: written in one export only")
                continue
            axes = [a for a in wt["axes"]]
            expected = cut(wt["data"], wt["shape"], axes, keep)
            if not same(expected, pt["data"]):
                fail(f"{where}: numbers differ")
            checked += 1


def check_input(binary, source):
    whole = export(binary, source)
    if whole is None:
        return
    ids = [s["id"] for s in whole["stages"]]
    for stage in ids:
        part = export(binary, source, "--until", stage)
        if part:
            compare(f"{source} --until {stage}", whole, part, {}, ids[: ids.index(stage) + 1])
        part = export(binary, source, "--stages", stage)
        if part:
            compare(f"{source} --stages {stage}", whole, part, {}, [stage])
    config = whole["config"]
    queries, heads = config["q_len"], config["num_heads"]
    batches = config.get("batch") or 1
    slices = [{"query": queries - 1}, {"query": 0}]
    if heads > 1:
        slices += [{"head": heads - 1}, {"head": 0, "query": queries // 2}]
    if config.get("batch"):
        slices += [{"batch": batches - 1}, {"batch": batches - 1, "query": 1}]
    for keep, until in itertools.product(slices, [None, "softmax"]):
        flags = ["--focus", ",".join(f"{k}={v}" for k, v in keep.items())]
        if until:
            flags += ["--until", until]
        part = export(binary, source, *flags)
        if part:
            shown = ids if not until else ids[: ids.index(until) + 1]
            compare(f"{source} {' '.join(flags)}", whole, part, keep, shown)


def main():
    binary, inputs = sys.argv[1], sys.argv[2:]
    for source in inputs:
        check_input(binary, source)
    print(f"{checked} tensors compared, {len(failures)} failures")
    sys.exit(1 if failures or checked == 0 else 0)


if __name__ == "__main__":
    main()
