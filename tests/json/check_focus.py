#!/usr/bin/python3
"""Check run --focus's JSON export against the whole trace's, with an independent parser.

Usage: check_focus.py BINARY SCHEMA INPUT FOCUS... [-- INPUT FOCUS...]...

For each INPUT and each of its FOCUS values (e.g. head=1,query=2; positions, not tokens) this runs `BINARY run INPUT --format json --focus FOCUS` and
`BINARY run INPUT --format json`, and checks that the focused export is valid against SCHEMA, that
its `focus` object holds exactly the indices asked for, that it has the same stages and tensors
as the whole trace, and that every tensor is the whole tensor's slice: a cut axis (batch, head or
query) has size 1 and holds the focused index's numbers, every other axis is whole.
"""

import json
import subprocess
import sys

import jsonschema


def export(binary, path, *extra):
    out = subprocess.run([binary, "run", path, "--format", "json", *extra],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def pick(data, axes, keep):
    """The slice of nested lists `data` (axis names `axes`) at the kept indices, sizes kept at 1."""
    if not axes:
        return data
    if axes[0] in keep:
        return [pick(data[keep[axes[0]]], axes[1:], keep)]
    return [pick(item, axes[1:], keep) for item in data]


def main():
    binary, schema_path, *rest = sys.argv[1:]
    with open(schema_path, encoding="utf-8") as f:
        schema = json.load(f)
    groups, group = [], []
    for word in rest:
        if word == "--":
            groups.append(group)
            group = []
        else:
            group.append(word)
    groups.append(group)
    failures = total = 0
    for path, *focuses in groups:
        whole = export(binary, path)
        for focus in focuses:
            total += 1
            failures += not check(binary, schema, path, whole, focus)
    print(f"{total - failures} passed, {failures} failed")
    return 1 if failures else 0


def check(binary, schema, path, whole, focus):
    """One focused export against the whole trace; prints ok or FAIL and the problems."""
    wanted = dict(part.split("=") for part in focus.split(","))
    try:
        cut = export(binary, path, "--focus", focus)
    except subprocess.CalledProcessError as error:
        print(f"FAIL: {path} --focus {focus}: exit status {error.returncode}: {error.stderr}")
        return False
    problems = []
    try:
        jsonschema.validate(cut, schema, cls=jsonschema.Draft202012Validator)
    except jsonschema.ValidationError as error:
        problems.append(f"schema: {error.message}")
    keep = {axis: int(cut["focus"][axis]) for axis in ("batch", "head", "query")
            if cut["focus"][axis] is not None}
    if keep != {axis: int(index) for axis, index in wanted.items()}:
        problems.append(f"focus says {cut['focus']}, asked for {wanted}")
    ids = [stage["id"] for stage in cut["stages"]]
    if ids != [stage["id"] for stage in whole["stages"]]:
        problems.append(f"stages {ids}, the whole trace has others")
    for stage, whole_stage in zip(cut["stages"], whole["stages"]):
        names = [t["name"] for t in stage["tensors"]]
        if names != [t["name"] for t in whole_stage["tensors"]]:
            problems.append(f"{stage['id']}: tensors {names}, the whole trace has others")
        for tensor, whole_tensor in zip(stage["tensors"], whole_stage["tensors"]):
            name = f"{stage['id']}.{tensor['name']}"
            axes = tensor["axes"]
            here = {a: i for a, i in keep.items() if a in axes}
            shape = [1 if a in here else n for a, n in zip(axes, whole_tensor["shape"])]
            if tensor["shape"] != shape:
                problems.append(f"{name}: shape {tensor['shape']}, expected {shape}")
            elif "data" in tensor and tensor["data"] != pick(whole_tensor["data"], axes, here):
                problems.append(f"{name}: the numbers are not the whole tensor's slice")
    print(f"{'ok' if not problems else 'FAIL'}: {path} --focus {focus}")
    for problem in problems:
        print(f"  {problem}", file=sys.stderr)
    return not problems


if __name__ == "__main__":
    sys.exit(main())
