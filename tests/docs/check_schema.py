#!/usr/bin/python3
"""Check the JSON report of `attn-trace check` against docs/check.schema.json, and docs/check/.

Usage: check_schema.py BINARY SCHEMA

Run from anywhere; the repository is the one this script is in. It checks that:

- docs/check/make_examples.py, run into a temporary folder, writes exactly the committed files of
  docs/check/ (the same arrays in mine.npz, the same text in the .json files), so the files the
  page runs check on are the ones its script makes;
- `BINARY check MINE INPUT --format json` on the page's files, on a trace given as MINE and on a
  file no mistake explains, exits 0 when every tensor matches and 3 when one differs, prints strict
  JSON (no NaN literal) valid against SCHEMA under JSON Schema Draft 2020-12, and the same bytes
  with -o into a file;
- the report agrees with itself: match is false exactly when first_difference is an object (and
  the exit status 3), first_difference is the first tensor that differs and follows from none,
  its cells and worst cells are that tensor's, each worst cell's `cell` is STAGE.TENSOR[index]
  within the shape, follows_from names an earlier differing tensor, diagnosis is empty when all
  match;
- each docs/check/mistakes/ID.json and ID-one-head.json is diagnosed with ID first, at the stage
  docs/check.md gives, and docs/check/mine.npz (the correct float32 attention) matches;
- the student's code docs/check.md shows is docs/check/student.py's (its lines, in order), and
  docs/check.md has a section for every id of the schema's catalogue.

Prints one line per case and `N passed, M failed`; exits 1 when any case fails or jsonschema cannot
be imported, 2 on bad usage. Run it with /usr/bin/python3 (Debian's python3-jsonschema, numpy).
"""

import json
import os
import subprocess
import sys
import tempfile

try:
    from jsonschema import Draft202012Validator
except ImportError as error:  # fail loudly: without the schema check this script proves little
    sys.stderr.write(f"check_schema.py: error: cannot import jsonschema ({error}); install "
                     "python3-jsonschema and run this with /usr/bin/python3. Nothing was checked.\n")
    sys.exit(1)
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOCS = os.path.join(ROOT, "docs", "check")
TIMEOUT = 300

# Where each mistake of the catalogue is made (docs/check.md#the-catalogue).
STAGE_OF = {
    "qkv_order": "projections", "weights_transposed": "projections", "bias_missing": "projections",
    "heads_interleaved": "split_heads", "scale_sqrt_embed": "scaling", "scale_missing": "scaling",
    "scale_by_d": "scaling", "mask_inverted": "masking", "causal_off_by_one": "masking",
    "mask_not_infinite": "masking", "softmax_wrong_axis": "softmax",
    "mask_after_softmax": "softmax", "softmax_overflow": "softmax",
    "context_wrong_axis": "summation", "heads_merge_order": "merge_heads",
    "out_proj_missing": "out_proj",
}


def reject_constant(name):
    raise ValueError(f"{name} is not strict JSON")


def same_files(fresh, problems):
    """docs/check/ as committed against make_examples.py's files written into `fresh`."""
    names = sorted(os.path.relpath(os.path.join(d, f), fresh)
                   for d, _, files in os.walk(fresh) for f in files)
    expected = {"mine.npz", "large-scores.json", "weights-only.json", "typo.json",
                "transposed.json"} | {
        f"mistakes/{m}.json" for m in STAGE_OF} | {
        f"mistakes/{m}-one-head.json" for m in ("qkv_order", "softmax_wrong_axis",
                                                 "context_wrong_axis")}
    if set(names) != expected:
        problems.append(f"make_examples.py writes {names}, expected {sorted(expected)}")
    for name in names:
        committed = os.path.join(DOCS, name)
        if not os.path.exists(committed):
            problems.append(f"docs/check/{name} is not committed (run make_examples.py)")
        elif name.endswith(".npz"):
            a, b = np.load(committed), np.load(os.path.join(fresh, name))
            if sorted(a.files) != sorted(b.files) or any(
                    not np.array_equal(a[k], b[k], equal_nan=True) for k in a.files):
                problems.append(f"docs/check/{name} holds other arrays than make_examples.py "
                                "writes: run it")
        else:
            with open(committed, "rb") as f, open(os.path.join(fresh, name), "rb") as g:
                if f.read() != g.read():
                    problems.append(f"docs/check/{name} differs from what make_examples.py "
                                    "writes: run it")


def page_agrees(schema, problems):
    """docs/check.md shows student.py's code, and a section for every id of the catalogue."""
    with open(os.path.join(ROOT, "docs", "check.md")) as f:
        page = f.read()
    marker = "[docs/check/student.py](check/student.py):\n\n```python\n"
    if marker not in page:
        problems.append("docs/check.md: no ```python block after the link to student.py")
        return
    shown = page.split(marker, 1)[1].split("```", 1)[0].splitlines()
    with open(os.path.join(DOCS, "student.py")) as f:
        source = f.read().splitlines()
    at = 0
    for line in shown:
        while at < len(source) and source[at] != line:
            at += 1
        if at == len(source):
            problems.append(f"docs/check.md shows a line student.py has not (in this order): "
                            f"{line!r}")
            return
        at += 1
    if len(shown) < 15:
        problems.append(f"docs/check.md shows only {len(shown)} lines of student.py")
    ids = schema["properties"]["diagnosis"]["items"]["properties"]["id"]["enum"]
    if sorted(ids) != sorted(STAGE_OF):
        problems.append(f"the schema's ids {ids} are not the catalogue {sorted(STAGE_OF)}")
    for mistake in ids:
        if f"\n### `{mistake}`\n" not in page:
            problems.append(f"docs/check.md has no section ### `{mistake}`")


def run_check(binary, mine, input_args, problems, work):
    """Runs check --format json to stdout and with -o; returns (status, report)."""
    command = [binary, "check", mine, *input_args, "--format", "json"]
    run = subprocess.run(command, capture_output=True, timeout=TIMEOUT, cwd=ROOT)
    if run.returncode not in (0, 3):
        problems.append(f"{' '.join(command)} exits {run.returncode}: {run.stderr.decode()}")
        return run.returncode, None
    out = os.path.join(work, "report.json")
    again = subprocess.run(command + ["-o", out], capture_output=True, timeout=TIMEOUT, cwd=ROOT)
    if again.returncode != run.returncode or again.stdout:
        problems.append(f"with -o: exit {again.returncode}, {len(again.stdout)} bytes printed")
    elif open(out, "rb").read() != run.stdout:
        problems.append("-o wrote other bytes than standard output")
    try:
        report = json.loads(run.stdout, parse_constant=reject_constant)
    except ValueError as error:
        problems.append(f"not strict JSON: {error}")
        return run.returncode, None
    return run.returncode, report


def consistent(report, status, validator, problems):
    for error in validator.iter_errors(report):
        path = "/".join(str(p) for p in error.absolute_path)
        problems.append(f"schema: at /{path}: {error.message}")
    if problems:
        return
    tensors = report["tensors"]
    first = report["first_difference"]
    if report["match"] != (first is None) or (status == 0) != report["match"]:
        problems.append(f"match {report['match']}, first_difference {first is not None}, "
                        f"exit status {status}")
    if report["match"] and report["diagnosis"]:
        problems.append("a diagnosis when every tensor matches")
    names = [t["name"] for t in tensors]
    for k, t in enumerate(tensors):
        if t["match"] != (t["cells_differ"] == 0) or t["cells_differ"] > t["cells"]:
            problems.append(f"{t['name']}: match {t['match']}, {t['cells_differ']} of "
                            f"{t['cells']} cells differ")
        if int(np.prod(t["shape"])) != t["cells"]:
            problems.append(f"{t['name']}: shape {t['shape']} but {t['cells']} cells")
        source = t["follows_from"]
        if source is not None:
            earlier = names[:k]
            if t["match"] or source not in earlier or tensors[names.index(source)]["match"]:
                problems.append(f"{t['name']} follows from {source}, which is no earlier "
                                "differing tensor")
    differing = [t for t in tensors if not t["match"]]
    if first is None:
        return
    t = differing[0]
    if (first["name"], first["stage"], first["tensor"]) != (t["name"], t["stage"], t["tensor"]):
        problems.append(f"first_difference is {first['name']}, the first that differs is "
                        f"{t['name']}")
    if t["follows_from"] is not None:
        problems.append(f"the first difference {t['name']} follows from {t['follows_from']}")
    if (first["cells"], first["of"]) != (t["cells_differ"], t["cells"]):
        problems.append(f"first_difference: {first['cells']} of {first['of']} cells, the "
                        f"tensor's row says {t['cells_differ']} of {t['cells']}")
    if len(first["worst"]) != min(5, t["cells_differ"]):
        problems.append(f"{len(first['worst'])} worst cells of {t['cells_differ']} differing")
    for cell in first["worst"]:
        index = cell["index"]
        if len(index) != len(t["shape"]) or any(i >= n for i, n in zip(index, t["shape"])):
            problems.append(f"worst cell {index} outside the shape {t['shape']}")
        wanted = f"{t['stage']}.{t['tensor']}[{','.join(map(str, index))}]"
        if cell["cell"] != wanted:
            problems.append(f"worst cell {cell['cell']}, expected {wanted}")


def main():
    if len(sys.argv) != 3:
        sys.stderr.write("usage: check_schema.py BINARY SCHEMA\n")
        return 2
    binary, schema_path = os.path.abspath(sys.argv[1]), sys.argv[2]
    with open(schema_path) as f:
        schema = json.load(f)
    Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(schema)
    passed = failed = 0

    def report_case(name, problems):
        nonlocal passed, failed
        if problems:
            failed += 1
            print(f"FAIL {name}")
            for p in problems:
                sys.stderr.write(f"  {name}: {p}\n")
        else:
            passed += 1
            print(f"ok   {name}")

    with tempfile.TemporaryDirectory() as work:
        fresh = os.path.join(work, "fresh")
        os.makedirs(fresh)
        problems = []
        made = subprocess.run([sys.executable, os.path.join(DOCS, "make_examples.py"), fresh],
                              capture_output=True, text=True, timeout=TIMEOUT)
        if made.returncode != 0:
            problems.append(f"make_examples.py exits {made.returncode}: {made.stderr}")
        else:
            same_files(fresh, problems)
        report_case("docs/check/ is what make_examples.py writes", problems)
        problems = []
        page_agrees(schema, problems)
        report_case("docs/check.md shows student.py and every mistake", problems)

        # (MINE, input args, expected first diagnosis id or None for "all match", or "" for
        # "differs, and no mistake explains it")
        cases = [("docs/check/mine.npz", ["multihead"], None)]
        for mistake in STAGE_OF:
            inputs = ["docs/check/large-scores.json"] if mistake == "softmax_overflow" else [
                "--example", "multihead"]
            cases.append((f"docs/check/mistakes/{mistake}.json", inputs, mistake))
        for mistake in ("qkv_order", "softmax_wrong_axis", "context_wrong_axis"):
            cases.append((f"docs/check/mistakes/{mistake}-one-head.json", ["karim"], mistake))

        # A trace as MINE: karim's own trace matches karim, and not i-am-good's … different
        # sizes are refused, so compare karim's trace with makeesy's (same sizes, other numbers).
        trace = os.path.join(work, "karim-trace.json")
        subprocess.run([binary, "run", "karim", "--format", "json", "-o", trace], check=True,
                       timeout=TIMEOUT)
        cases.append((trace, ["karim"], None))
        cases.append((trace, ["makeesy"], ""))
        # Numbers no mistake gives: the right weights, one cell nudged.
        with np.load(os.path.join(DOCS, "mine.npz")) as mine:
            nudged = {k: mine[k] for k in mine.files}
        nudged["attn_weights"] = nudged["attn_weights"].copy()
        nudged["attn_weights"][1, 2, 0] += 0.01
        nudged_path = os.path.join(work, "nudged.npz")
        np.savez(nudged_path, **nudged)
        cases.append((nudged_path, ["multihead"], ""))
        cases.append(("docs/check/weights-only.json", ["karim"], "softmax_wrong_axis"))

        for mine, input_args, expected in cases:
            shown = mine if not os.path.isabs(mine) else os.path.basename(mine)
            name = f"check {shown} {' '.join(input_args)}"
            problems = []
            status, report = run_check(binary, mine, input_args, problems, work)
            if report is not None:
                consistent(report, status, validator, problems)
            if report is not None and not problems:
                ids = [d["id"] for d in report["diagnosis"]]
                if expected is None and not report["match"]:
                    problems.append(f"differs: {report['first_difference']}")
                elif expected == "" and (report["match"] or ids):
                    problems.append(f"expected a difference no mistake explains, found match "
                                    f"{report['match']}, diagnosis {ids}")
                elif expected:
                    if not ids or ids[0] != expected:
                        problems.append(f"diagnosis {ids}, expected {expected} first")
                    elif report["diagnosis"][0]["stage"] != STAGE_OF[expected]:
                        problems.append(f"{expected} at stage {report['diagnosis'][0]['stage']}"
                                        f", docs/check.md says {STAGE_OF[expected]}")
            report_case(name, problems)

    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
