#!/usr/bin/python3
"""Grade a student's attention with attn-trace check: the teacher's script of docs/check.md.

    python3 docs/check/grade.py SUBMISSION.py [--attn-trace BINARY] [--example NAME] [--json]

The assignment: write `attention(x, w_qkv, b_qkv, w_o, b_o, num_heads, mask)` (as in
docs/check/student.py) returning a dict of NumPy arrays (or torch tensors) named q, k, v,
attn_scores, attn_weights and attn_output, and any others attn-trace check knows.

This runs the submission on the bundled example (multihead by default: 4 tokens, 2 heads, a causal
0/1 mask), saves its tensors with np.savez, runs `attn-trace check … --format json` and turns the
report into points: one point per required tensor that matches the trace, or that differs only
because an earlier one did (follows_from: the student's own later stage is right, so it is not
marked down twice). The feedback names the first wrong tensor, the mistake that reproduces it, and
its worst cells. Prints the grade and the feedback (with --json, as one JSON object); exits 0
when the submission could be graded, 1 when it could not (it crashed, or attn-trace refused its
tensors: the message says why).
"""
import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import traceback

import numpy as np

REQUIRED = ["q", "k", "v", "attn_scores", "attn_weights", "attn_output"]


def load_submission(path):
    spec = importlib.util.spec_from_file_location("submission", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.attention


def assignment(binary, example):
    """The example's input as attn-trace has it: x, the packed weights, the heads and the mask."""
    text = subprocess.run([binary, "examples", "--show", example], check=True,
                          capture_output=True, text=True).stdout
    spec = json.loads(text)
    w = spec["weights"]
    f32 = lambda a: np.asarray(a, dtype=np.float32)  # noqa: E731
    return (f32(spec["input"]), f32(w["qkv.weight"]), f32(w["qkv.bias"]),
            f32(w["out_proj.weight"]), f32(w["out_proj.bias"]), spec["num_heads"],
            f32(spec["mask"]))


def as_numpy(value):
    if hasattr(value, "detach"):  # a torch tensor
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def shown(number):
    """A number of the report (or "inf", "-inf", "nan") with four decimals."""
    return number if isinstance(number, str) else f"{number:.4f}"


def grade(report):
    """Points and feedback lines from check's JSON report."""
    by_name = {t["name"]: t for t in report["tensors"]}
    points, lines = 0, []
    for name in REQUIRED:
        t = by_name.get(name)
        if t is None:
            lines.append(f"{name}: missing (0 points)")
        elif t["match"]:
            points += 1
        elif t["follows_from"]:
            points += 1
            lines.append(f"{name}: right given your {t['follows_from']} (1 point)")
        else:
            lines.append(f"{name}: wrong (0 points)")
    first = report["first_difference"]
    if first:
        lines.append(f"The first wrong tensor is {first['name']} (stage {first['stage']}): "
                     f"{first['cells']} of {first['of']} numbers differ.")
        for d in report["diagnosis"][:1]:
            lines.append(f"Likely mistake ({d['id']}): {d['text']}")
        if not report["diagnosis"]:
            lines.append("No classic mistake reproduces it; the worst cells:")
        for cell in first["worst"][:3]:
            lines.append(f"  {cell['labels']}: yours {shown(cell['yours'])}, expected "
                         f"{shown(cell['expected'])}")
    return points, lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("submission")
    parser.add_argument("--attn-trace", default="attn-trace", dest="binary")
    parser.add_argument("--example", default="multihead")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    try:
        attention = load_submission(args.submission)
        tensors = attention(*assignment(args.binary, args.example))
        tensors = {name: as_numpy(value) for name, value in tensors.items()}
    except Exception:  # the student's code: any error is theirs, and worth showing
        print(f"{args.submission}: could not run attention():\n{traceback.format_exc()}")
        return 1
    with tempfile.TemporaryDirectory() as work:
        mine = os.path.join(work, "mine.npz")
        np.savez(mine, **tensors)
        run = subprocess.run([args.binary, "check", mine, args.example, "--format", "json"],
                             capture_output=True, text=True)
    if run.returncode not in (0, 3):  # 1: check refused the tensors (a name, a shape)
        print(f"{args.submission}: attn-trace check could not compare the tensors:\n{run.stderr}")
        return 1
    report = json.loads(run.stdout)
    points, lines = grade(report)
    if args.json:
        print(json.dumps({"points": points, "out_of": len(REQUIRED), "feedback": lines,
                          "report": report}, indent=2))
    else:
        print(f"{os.path.basename(args.submission)}: {points}/{len(REQUIRED)}")
        for line in lines:
            print("  " + line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
