#!/usr/bin/python3
"""Check the JSON export of attn-trace against its documentation, with an independent parser.

Usage: check_trace.py BINARY SCHEMA INPUT...

Each INPUT is a path to an input file (docs/input-format.md), or the word `default` for the
bundled example. For each one this runs `BINARY run [INPUT] --format json`, once to standard output
and once with `-o` into a temporary folder, and checks that:

- both runs exit 0, the file written by -o is byte for byte what was printed, -o prints nothing
  and leaves no temporary file behind;
- the output is strict JSON for Python's json module (no NaN/Infinity literals, no duplicate keys)
  and valid against SCHEMA (docs/trace.schema.json) under JSON Schema Draft 2020-12;
- every tensor has one axis name per dimension, and its `data` nests exactly as its `shape` says;
- every number is an int or a finite float, or one of the strings "inf", "-inf", "nan";
- the stages appear in the documented order, each at most once, and together with `skipped` they
  name every stage id exactly once;
- each stage holds the documented tensors with the documented axes and shapes (the stage table of
  docs/trace-format.md), worked out from `config`; tokens and kv_tokens match the batch layout.

Prints one line per input and finally `N passed, M failed`; the reasons for a failure go to
standard error. Exits 1 when any input fails or jsonschema cannot be imported, 2 on bad usage.
Standard library plus jsonschema only; run it with /usr/bin/python3 (Debian's python3-jsonschema).
"""

import json
import math
import os
import subprocess
import sys
import tempfile

try:
    import jsonschema
    from jsonschema import Draft202012Validator
except ImportError as error:  # fail loudly: without the schema check this script proves little
    sys.stderr.write(
        f"check_trace.py: error: cannot import jsonschema with Draft 2020-12 support ({error}).\n"
        "Install it (Debian: apt-get install python3-jsonschema, version 4 or later) and run this\n"
        "script with /usr/bin/python3. Nothing was checked.\n")
    sys.exit(1)

# The documented stage order (README "Stages", docs/trace-format.md).
STAGE_IDS = ["input", "projections", "split_heads", "scores", "scaling", "softmax",
             "weighted_values", "summation", "merge_heads", "out_proj"]
NON_FINITE = {"inf", "-inf", "nan"}
TIMEOUT = 600  # seconds per run of the binary


class Problems:
    """The reasons one input fails, collected so that one run reports all of them."""

    def __init__(self):
        self.items = []

    def add(self, message):
        self.items.append(message)

    def __bool__(self):
        return bool(self.items)


def run(binary, input_name, extra):
    """Runs `binary run [input] --format json` with extra arguments; returns the CompletedProcess."""
    args = [binary, "run"]
    if input_name != "default":
        args.append(input_name)
    args += ["--format", "json"] + extra
    return subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=TIMEOUT,
                          check=False)


def strict_loads(text):
    """json.loads that rejects what is not JSON although Python accepts it: NaN, Infinity and
    -Infinity literals, and duplicate keys."""

    def no_constants(name):
        raise ValueError(f"{name} is not JSON (non-finite numbers must be strings)")

    def no_duplicates(pairs):
        keys = [key for key, _ in pairs]
        duplicated = sorted({key for key in keys if keys.count(key) > 1})
        if duplicated:
            raise ValueError(f"duplicate keys {duplicated}")
        return dict(pairs)

    return json.loads(text, parse_constant=no_constants, object_pairs_hook=no_duplicates)


def is_number(value):
    """An int or a finite float (a bool is an int to Python, but not a number here)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, float) and math.isfinite(value)


def check_data(data, shape, where, problems, counts):
    """`data` must be nested lists exactly `shape` deep and wide, numbers or inf/-inf/nan inside."""
    if not isinstance(data, list):
        problems.add(f"{where}: expected a list of {shape[0]}, found {type(data).__name__}")
        return
    if len(data) != shape[0]:
        problems.add(f"{where}: expected {shape[0]} items (shape says so), found {len(data)}")
        return
    for index, item in enumerate(data):
        at = f"{where}[{index}]"
        if len(shape) > 1:
            check_data(item, shape[1:], at, problems, counts)
        elif isinstance(item, str) and item in NON_FINITE:
            counts["numbers"] += 1
            counts["non_finite"] += 1
        elif is_number(item):
            counts["numbers"] += 1
        else:
            problems.add(f"{at}: expected a number or \"inf\"/\"-inf\"/\"nan\", found {item!r}")
            return


def expected_tensors(config):
    """The stage table: stage id -> [(tensor name, axes, shape)], from the config. Batched input
    adds a leading batch axis; more than one head adds a head axis to the per-head stages."""
    L, S, E = config["q_len"], config["kv_len"], config["embed_dim"]
    D, H, d = config["proj_dim"], config["num_heads"], config["head_dim"]
    batch = [("batch", config["batch"])] if config["batch"] is not None else []
    head = [("head", H)] if H > 1 else []

    def tensor(name, lead, *axes):
        full = lead + list(axes)
        return (name, [a for a, _ in full], [n for _, n in full])

    per_batch, per_head = batch, batch + head
    table = {
        "input": [tensor("X", per_batch, ("query", L), ("feature", E))],
        "projections": [tensor("Q", per_batch, ("query", L), ("feature", D)),
                        tensor("K", per_batch, ("key", S), ("feature", D)),
                        tensor("V", per_batch, ("key", S), ("feature", D))],
        "split_heads": [tensor("Q", per_head, ("query", L), ("feature", d)),
                        tensor("K", per_head, ("key", S), ("feature", d)),
                        tensor("V", per_head, ("key", S), ("feature", d))],
        "scores": [tensor("scores", per_head, ("query", L), ("key", S))],
        "scaling": [tensor("scaled", per_head, ("query", L), ("key", S))],
        "softmax": [tensor("weights", per_head, ("query", L), ("key", S))],
        "weighted_values": [tensor("weighted", per_head, ("query", L), ("key", S),
                                   ("feature", d))],
        "summation": [tensor("context", per_head, ("query", L), ("feature", d))],
        "merge_heads": [tensor("context", per_batch, ("query", L), ("feature", D))],
        # out_proj maps D back to the width of its weight's output rows: E in nn.MultiheadAttention,
        # but only the rank and the leading axes are fixed by the config.
        "out_proj": [tensor("output", per_batch, ("query", L), ("feature", None))],
    }
    return table


def check_tokens(doc, problems):
    config = doc["config"]
    for key in ("tokens", "kv_tokens"):
        lists = doc[key]
        if config["batch"] is None:
            if not (isinstance(lists, list) and all(isinstance(t, str) for t in lists)):
                problems.add(f"{key}: unbatched input needs one list of strings")
            elif len(lists) != config["q_len"]:
                problems.add(f"{key}: {len(lists)} labels for q_len {config['q_len']}")
        else:
            if not (isinstance(lists, list) and len(lists) == config["batch"]
                    and all(isinstance(t, list) and len(t) == config["q_len"] for t in lists)):
                problems.add(f"{key}: batched input needs {config['batch']} lists of "
                             f"{config['q_len']} labels")


def check_stages(doc, problems, counts):
    ids = [stage["id"] for stage in doc["stages"]]
    skipped = [item["id"] for item in doc["skipped"]]
    positions = [STAGE_IDS.index(i) for i in ids if i in STAGE_IDS]
    if positions != sorted(set(positions)):
        problems.add(f"stages out of the documented order or repeated: {ids}")
    if sorted(ids + skipped, key=STAGE_IDS.index) != STAGE_IDS:
        problems.add(f"stages {ids} and skipped {skipped} do not name every stage id exactly once")
    multi_head = doc["config"]["num_heads"] > 1
    for optional in ("split_heads", "merge_heads"):
        if (optional in ids) != multi_head:
            problems.add(f"{optional} must appear exactly when num_heads > 1")
    if ("out_proj" in ids) != doc["config"]["out_proj"]:
        problems.add("the out_proj stage must appear exactly when config.out_proj is true")

    table = expected_tensors(doc["config"])
    for stage in doc["stages"]:
        expected = table.get(stage["id"], [])
        tensors = stage["tensors"]
        names = [t["name"] for t in tensors]
        if names != [name for name, _, _ in expected]:
            problems.add(f"{stage['id']}: tensors {names}, expected "
                         f"{[name for name, _, _ in expected]}")
            continue
        for tensor, (name, axes, shape) in zip(tensors, expected):
            where = f"{stage['id']}.{name}"
            counts["tensors"] += 1
            if len(tensor["axes"]) != len(tensor["shape"]):
                problems.add(f"{where}: {len(tensor['axes'])} axes for a shape of rank "
                             f"{len(tensor['shape'])}")
                continue
            if tensor["axes"] != axes:
                problems.add(f"{where}: axes {tensor['axes']}, expected {axes}")
            if any(want is not None and got != want for got, want in zip(tensor["shape"], shape)) \
                    or len(tensor["shape"]) != len(shape):
                problems.add(f"{where}: shape {tensor['shape']}, expected "
                             f"{['?' if n is None else n for n in shape]}")
            if "data" in tensor:
                check_data(tensor["data"], tensor["shape"], f"{where}.data", problems, counts)
            elif stage["id"] != "weighted_values":
                problems.add(f"{where}: only weighted_values may be omitted")
            else:
                counts["omitted"] += 1


def check_input(binary, validator, input_name):
    """Returns (problems, summary) for one input."""
    problems = Problems()
    counts = {"tensors": 0, "numbers": 0, "non_finite": 0, "omitted": 0}

    printed = run(binary, input_name, [])
    if printed.returncode != 0:
        problems.add(f"exit status {printed.returncode}: "
                     f"{printed.stderr.decode('utf-8', 'replace').strip()}")
        return problems, ""

    with tempfile.TemporaryDirectory(prefix="check_trace.") as folder:
        path = os.path.join(folder, "trace.json")
        written = run(binary, input_name, ["-o", path])
        if written.returncode != 0:
            problems.add(f"-o: exit status {written.returncode}: "
                         f"{written.stderr.decode('utf-8', 'replace').strip()}")
        else:
            if written.stdout:
                problems.add("-o: printed on standard output too")
            if not os.path.isfile(path):
                problems.add("-o: wrote no file")
            else:
                with open(path, "rb") as f:
                    if f.read() != printed.stdout:
                        problems.add("-o: the file differs from standard output")
            others = sorted(set(os.listdir(folder)) - {"trace.json"})
            if others:
                problems.add(f"-o: left other files behind: {others}")

    try:
        doc = strict_loads(printed.stdout.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        problems.add(f"not strict JSON: {error}")
        return problems, ""

    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
    for error in errors[:10]:
        location = "/".join(str(p) for p in error.absolute_path) or "(top)"
        problems.add(f"schema: {location}: {error.message[:300]}")
    if len(errors) > 10:
        problems.add(f"schema: … and {len(errors) - 10} more errors")
    if errors:
        return problems, ""  # the checks below assume the documented structure

    check_tokens(doc, problems)
    check_stages(doc, problems, counts)
    summary = (f"{len(doc['stages'])} stages, {counts['tensors']} tensors, "
               f"{counts['numbers']} numbers ({counts['non_finite']} inf/nan)"
               + (f", {counts['omitted']} omitted" if counts["omitted"] else ""))
    return problems, summary


def main(argv):
    if len(argv) < 4 or argv[1] in ("-h", "--help"):
        sys.stderr.write("usage: check_trace.py BINARY SCHEMA INPUT...   (INPUT: a file, or "
                         "`default` for the bundled example)\n")
        return 2
    binary, schema_path, inputs = argv[1], argv[2], argv[3:]
    with open(schema_path, encoding="utf-8") as f:
        schema = json.load(f)
    Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(schema)

    passed = failed = 0
    for input_name in inputs:
        try:
            problems, summary = check_input(binary, validator, input_name)
        except (OSError, subprocess.SubprocessError) as error:
            problems, summary = Problems(), ""
            problems.add(f"could not run {binary}: {error}")
        if problems:
            failed += 1
            first = " | ".join(problems.items[0].splitlines())  # one line per input, always
            print(f"FAIL {input_name}: {len(problems.items)} problem(s), first: {first}", flush=True)
            for problem in problems.items:
                sys.stderr.write(f"  {input_name}: {problem}\n")
        else:
            passed += 1
            print(f"ok   {input_name}: {summary}", flush=True)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
