#!/usr/bin/python3
"""Check run --focus's JSON export against the whole trace's, with an independent parser.

Usage: check_focus.py BINARY SCHEMA INPUT FOCUS...

For each FOCUS (e.g. head=1,query=2) this runs `BINARY run INPUT --format json --focus FOCUS` and
`BINARY run INPUT --format json`, and checks that the focused export is valid against SCHEMA, that
its `focus` object says what was cut, and that every tensor is the whole tensor's slice: a cut axis
(batch, head or query) has size 1 and holds the focused index's numbers, every other axis is whole.
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
    binary, schema_path, path, *focuses = sys.argv[1:]
    with open(schema_path, encoding="utf-8") as f:
        schema = json.load(f)
    whole = export(binary, path)
    failures = 0
    for focus in focuses:
        wanted = dict(part.split("=") for part in focus.split(","))
        cut = export(binary, path, "--focus", focus)
        problems = []
        try:
            jsonschema.validate(cut, schema, cls=jsonschema.Draft202012Validator)
        except jsonschema.ValidationError as error:
            problems.append(f"schema: {error.message}")
        keep = {axis: int(cut["focus"][axis]) for axis in ("batch", "head", "query")
                if cut["focus"][axis] is not None}
        if sorted(keep) != sorted(wanted):
            problems.append(f"focus says {cut['focus']}, asked for {wanted}")
        for stage, whole_stage in zip(cut["stages"], whole["stages"]):
            for tensor, whole_tensor in zip(stage["tensors"], whole_stage["tensors"]):
                name = f"{stage['id']}.{tensor['name']}"
                axes = tensor["axes"]
                here = {a: i for a, i in keep.items() if a in axes}
                shape = [1 if a in here else n for a, n in zip(axes, whole_tensor["shape"])]
                if tensor["shape"] != shape:
                    problems.append(f"{name}: shape {tensor['shape']}, expected {shape}")
                elif "data" in tensor and tensor["data"] != pick(whole_tensor["data"], axes, here):
                    problems.append(f"{name}: the numbers are not the whole tensor's slice")
        print(f"{'ok' if not problems else 'FAIL'}: --focus {focus}")
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        failures += bool(problems)
    print(f"{len(focuses) - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
