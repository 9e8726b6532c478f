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
- every number is an int or a finite float, or one of the strings "inf", "-inf", "nan"; booleans
  (true/false) appear only in the masks given as booleans (key_padding_mask, a boolean attn_mask);
- the stages appear in the documented order, each at most once, and together with `skipped` they
  name every stage id exactly once;
- each stage holds the documented tensors with the documented axes and shapes (the stage table of
  docs/trace-format.md), worked out from `config`: S' = kv_len key columns from extra_keys on, the
  S = kv_len - len(extra_keys) keys given before; the optional stages (split_heads, merge_heads,
  out_proj, extra_keys, masking) appear exactly when `config` says so; tokens and kv_tokens match
  the batch layout, with "<bias_kv>"/"<zero_attn>" labelling the extra keys;
- the numbers agree where the format promises it: extra_keys' K and V begin with the projections'
  rows (the zero key is zeros, the bias key the same in every batch); additive_mask is what the
  given masks say (0 or the float attn_mask's value, -inf where a mask blocks, 0 in the extra key
  columns); masked == scaled + additive_mask elementwise; a query row with every key blocked has
  nan weights, weighted values and context, and a warning; a float attn_mask of only 0s and 1s has
  its warning.

Prints one line per input and finally `N passed, M failed`; the reasons for a failure go to
standard error. Exits 1 when any input fails or jsonschema cannot be imported, 2 on bad usage.
Standard library plus jsonschema only; run it with /usr/bin/python3 (Debian's python3-jsonschema).
"""

import itertools
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
STAGE_IDS = ["input", "projections", "extra_keys", "split_heads", "scores", "scaling", "masking",
             "softmax", "weighted_values", "summation", "merge_heads", "out_proj"]
NON_FINITE = {"inf", "-inf", "nan"}
NON_FINITE_VALUES = {"inf": math.inf, "-inf": -math.inf, "nan": math.nan}
# config.extra_keys and the labels of the extra key columns in kv_tokens, in this order.
EXTRA_KEY_LABELS = {"bias_kv": "<bias_kv>", "zero_attn": "<zero_attn>"}
# What the innermost lists of a tensor may hold; every other tensor holds numbers only.
DATA_KINDS = {"key_padding_mask": "booleans", "attn_mask": "booleans or numbers"}
# The warnings the checks below look for (today's wording, docs/trace-format.md).
BLOCKED_ROW_WARNING = "every key is blocked for query"
FLOAT_01_WARNING = "attn_mask holds only the numbers 0 and 1"
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


def check_data(data, shape, where, problems, counts, kind="numbers"):
    """`data` must be nested lists exactly `shape` deep and wide, with numbers or inf/-inf/nan
    inside (kind "numbers"), true/false ("booleans"), or one of the two throughout ("booleans or
    numbers")."""
    if not isinstance(data, list):
        problems.add(f"{where}: expected a list of {shape[0]}, found {type(data).__name__}")
        return
    if len(data) != shape[0]:
        problems.add(f"{where}: expected {shape[0]} items (shape says so), found {len(data)}")
        return
    for index, item in enumerate(data):
        at = f"{where}[{index}]"
        if len(shape) > 1:
            check_data(item, shape[1:], at, problems, counts, kind)
        elif isinstance(item, bool):
            if kind == "numbers":
                problems.add(f"{at}: expected a number or \"inf\"/\"-inf\"/\"nan\", found "
                             f"{item!r} (booleans appear only in boolean masks)")
                return
            counts["booleans"] += 1
        elif kind == "booleans":
            problems.add(f"{at}: expected true or false, found {item!r}")
            return
        elif isinstance(item, str) and item in NON_FINITE:
            counts["numbers"] += 1
            counts["non_finite"] += 1
        elif is_number(item):
            counts["numbers"] += 1
        else:
            problems.add(f"{at}: expected a number or \"inf\"/\"-inf\"/\"nan\", found {item!r}")
            return


def leaves(data):
    """The innermost items of nested lists, row-major."""
    if isinstance(data, list):
        for item in data:
            yield from leaves(item)
    else:
        yield data


def value(item):
    """A leaf as a float: "inf"/"-inf"/"nan" mapped back, true/false as 1.0/0.0."""
    return float(NON_FINITE_VALUES.get(item, item)) if not isinstance(item, bool) else float(item)


def element(tensor, where):
    """The item of `tensor` at the axis positions `where` (axis name -> index): a leaf when `where`
    names every axis, else the nested lists below the first axis it does not name (a row)."""
    item = tensor["data"]
    for axis in tensor["axes"]:
        if axis not in where:
            break
        item = item[where[axis]]
    return item


def same(a, b):
    """Exactly the same float, nan equal to nan."""
    return a == b or (math.isnan(a) and math.isnan(b))


def expected_tensors(config):
    """The stage table: stage id -> [(tensor name, [(axes, shape), …])], from the config; a tensor
    matches when its axes and shape are one of the alternatives (only the masks as given have more
    than one). Batched input adds a leading batch axis; more than one head adds a head axis to the
    per-head stages. Keys: S given (projections, the masks as given, X_kv/X_k/X_v), S' = kv_len
    from extra_keys on (S' = S + one per extra key)."""
    L, S_all, E = config["q_len"], config["kv_len"], config["embed_dim"]
    S = S_all - len(config["extra_keys"])
    D, H, d = config["proj_dim"], config["num_heads"], config["head_dim"]
    B = config["batch"]
    batch = [("batch", B)] if B is not None else []
    head = [("head", H)] if H > 1 else []

    def tensor(name, lead, *axes):
        full = lead + list(axes)
        return (name, [([a for a, _ in full], [n for _, n in full])])

    def either(name, *alternatives):  # each alternative: the (axis, size) pairs of one layout
        return (name, [([a for a, _ in alt], [n for _, n in alt]) for alt in alternatives])

    per_batch, per_head = batch, batch + head
    inputs = [tensor("X", per_batch, ("query", L), ("feature", E))]
    if config["key_source"] == "kv_input":
        inputs.append(tensor("X_kv", per_batch, ("key", S), ("feature", config["key_dim"])))
    elif config["key_source"] == "separate":
        inputs.append(tensor("X_k", per_batch, ("key", S), ("feature", config["key_dim"])))
        inputs.append(tensor("X_v", per_batch, ("key", S), ("feature", config["value_dim"])))

    # The masks as given: their own layouts, with the S keys given (no extra key columns).
    plain = [("query", L), ("key", S)]
    given = {
        # (L, S), or one per batch (B, L, S)
        "mask": either("mask", plain, *([batch + plain] if batch else [])),
        # (L, S), or 3-D as PyTorch reads it: (B, H, L, S) / (H, L, S), head axis left out for H = 1
        "attn_mask": either("attn_mask", plain,
                            *([per_head + plain] if per_head else [])),
        # (S) unbatched — rank 1 — or (B, S)
        "key_padding_mask": tensor("key_padding_mask", per_batch, ("key", S)),
    }
    masking = [given[name] for name in config["masks"] if name in given]
    masking += [tensor("additive_mask", per_head, ("query", L), ("key", S_all)),
                tensor("masked", per_head, ("query", L), ("key", S_all))]

    table = {
        "input": inputs,
        "projections": [tensor("Q", per_batch, ("query", L), ("feature", D)),
                        tensor("K", per_batch, ("key", S), ("feature", D)),
                        tensor("V", per_batch, ("key", S), ("feature", D))],
        "extra_keys": [tensor("K", per_batch, ("key", S_all), ("feature", D)),
                       tensor("V", per_batch, ("key", S_all), ("feature", D))],
        "split_heads": [tensor("Q", per_head, ("query", L), ("feature", d)),
                        tensor("K", per_head, ("key", S_all), ("feature", d)),
                        tensor("V", per_head, ("key", S_all), ("feature", d))],
        "scores": [tensor("scores", per_head, ("query", L), ("key", S_all))],
        "scaling": [tensor("scaled", per_head, ("query", L), ("key", S_all))],
        "masking": masking,
        "softmax": [tensor("weights", per_head, ("query", L), ("key", S_all))],
        "weighted_values": [tensor("weighted", per_head, ("query", L), ("key", S_all),
                                   ("feature", d))],
        "summation": [tensor("context", per_head, ("query", L), ("feature", d))],
        "merge_heads": [tensor("context", per_batch, ("query", L), ("feature", D))],
        # out_proj maps D back to the width of its weight's output rows: E in nn.MultiheadAttention,
        # but only the rank and the leading axes are fixed by the config.
        "out_proj": [tensor("output", per_batch, ("query", L), ("feature", None))],
    }
    return table


def check_config(config, problems):
    """What the config's fields say about each other."""
    extra = len(config["extra_keys"])
    if config["kv_len"] <= extra:
        problems.add(f"config: kv_len {config['kv_len']} leaves no key given besides the "
                     f"{extra} extra key(s)")
    if config["key_source"] == "self":
        if config["kv_len"] - extra != config["q_len"]:
            problems.add(f"config: self-attention with kv_len {config['kv_len']} = q_len "
                         f"{config['q_len']} + {extra} extra key(s) expected")
        if config["key_dim"] != config["embed_dim"] or config["value_dim"] != config["embed_dim"]:
            problems.add(f"config: self-attention needs key_dim = value_dim = embed_dim, found "
                         f"{config['key_dim']}, {config['value_dim']}, {config['embed_dim']}")
    elif config["key_source"] == "kv_input" and config["key_dim"] != config["value_dim"]:
        problems.add(f"config: kv_input gives K and V the same rows, but key_dim "
                     f"{config['key_dim']} != value_dim {config['value_dim']}")
    if config["proj_dim"] != config["num_heads"] * config["head_dim"]:
        problems.add("config: proj_dim must be num_heads × head_dim")


def check_tokens(doc, problems):
    """tokens: L labels per batch; kv_tokens: S' = kv_len labels per batch, the extra keys last,
    labelled "<bias_kv>" and "<zero_attn>"; in self-attention the keys given are the queries."""
    config = doc["config"]
    extra = [EXTRA_KEY_LABELS[name] for name in config["extra_keys"]]
    lengths = {"tokens": config["q_len"], "kv_tokens": config["kv_len"]}
    per_batch = {}
    for key, length in lengths.items():
        lists = doc[key]
        if config["batch"] is None:
            if not (isinstance(lists, list) and all(isinstance(t, str) for t in lists)):
                problems.add(f"{key}: unbatched input needs one list of strings")
                return
            if len(lists) != length:
                problems.add(f"{key}: {len(lists)} labels, expected {length}")
                return
            per_batch[key] = [lists]
        else:
            if not (isinstance(lists, list) and len(lists) == config["batch"]
                    and all(isinstance(t, list) and len(t) == length for t in lists)):
                problems.add(f"{key}: batched input needs {config['batch']} lists of "
                             f"{length} labels")
                return
            per_batch[key] = lists
    given = config["kv_len"] - len(extra)
    for b, (queries, keys) in enumerate(zip(per_batch["tokens"], per_batch["kv_tokens"])):
        if keys[given:] != extra:
            problems.add(f"kv_tokens (batch {b}): the extra keys must be labelled {extra}, "
                         f"found {keys[given:]}")
        if config["key_source"] == "self" and keys[:given] != queries:
            problems.add(f"kv_tokens (batch {b}): in self-attention the keys are the query tokens")


def check_stages(doc, problems, counts):
    config = doc["config"]
    ids = [stage["id"] for stage in doc["stages"]]
    skipped = [item["id"] for item in doc["skipped"]]
    positions = [STAGE_IDS.index(i) for i in ids if i in STAGE_IDS]
    if positions != sorted(set(positions)):
        problems.add(f"stages out of the documented order or repeated: {ids}")
    if sorted(ids + skipped, key=STAGE_IDS.index) != STAGE_IDS:
        problems.add(f"stages {ids} and skipped {skipped} do not name every stage id exactly once")
    multi_head = config["num_heads"] > 1
    for optional in ("split_heads", "merge_heads"):
        if (optional in ids) != multi_head:
            problems.add(f"{optional} must appear exactly when num_heads > 1")
    if ("out_proj" in ids) != config["out_proj"]:
        problems.add("the out_proj stage must appear exactly when config.out_proj is true")
    if ("extra_keys" in ids) != bool(config["extra_keys"]):
        problems.add("the extra_keys stage must appear exactly when config.extra_keys is not empty")
    if ("masking" in ids) != bool(config["masks"]):
        problems.add("the masking stage must appear exactly when config.masks is not empty")

    table = expected_tensors(config)
    shapes_ok = True
    for stage in doc["stages"]:
        expected = table.get(stage["id"], [])
        tensors = stage["tensors"]
        names = [t["name"] for t in tensors]
        if names != [name for name, _ in expected]:
            problems.add(f"{stage['id']}: tensors {names}, expected "
                         f"{[name for name, _ in expected]}")
            shapes_ok = False
            continue
        for tensor, (name, alternatives) in zip(tensors, expected):
            where = f"{stage['id']}.{name}"
            counts["tensors"] += 1
            if len(tensor["axes"]) != len(tensor["shape"]):
                problems.add(f"{where}: {len(tensor['axes'])} axes for a shape of rank "
                             f"{len(tensor['shape'])}")
                shapes_ok = False
                continue

            def matches(axes, shape):
                return (tensor["axes"] == axes and len(tensor["shape"]) == len(shape)
                        and all(want is None or got == want
                                for got, want in zip(tensor["shape"], shape)))

            if not any(matches(axes, shape) for axes, shape in alternatives):
                shapes_ok = False
                wanted = " or ".join(
                    f"axes {axes} shape {['?' if n is None else n for n in shape]}"
                    for axes, shape in alternatives)
                problems.add(f"{where}: axes {tensor['axes']} shape {tensor['shape']}, "
                             f"expected {wanted}")
            if "data" in tensor:
                before = len(problems.items)
                check_data(tensor["data"], tensor["shape"], f"{where}.data", problems, counts,
                           DATA_KINDS.get(name, "numbers"))
                shapes_ok = shapes_ok and len(problems.items) == before
            elif stage["id"] != "weighted_values":
                problems.add(f"{where}: only weighted_values may be omitted")
            else:
                counts["omitted"] += 1
    if shapes_ok:  # the checks below index the data as the shapes say
        check_extra_keys(doc, problems)
        check_masking(doc, problems)


def find_tensor(doc, stage_id, name):
    """The tensor `name` of stage `stage_id`, or None when the document has no such stage."""
    stage = next((s for s in doc["stages"] if s["id"] == stage_id), None)
    if stage is None:
        return None
    return next((t for t in stage["tensors"] if t["name"] == name), None)


def key_rows(tensor):
    """A (…, key, feature) tensor as {batch index: [rows of floats]}."""
    data = tensor["data"] if tensor["axes"][0] == "batch" else [tensor["data"]]
    return {b: [[value(x) for x in row] for row in rows] for b, rows in enumerate(data)}


def check_extra_keys(doc, problems):
    """extra_keys: K' = [K; bias_k; 0] and V' = [V; bias_v; 0] with K, V from projections."""
    config = doc["config"]
    if "extra_keys" not in [s["id"] for s in doc["stages"]]:
        return
    given = config["kv_len"] - len(config["extra_keys"])
    for name in ("K", "V"):
        extended = key_rows(find_tensor(doc, "extra_keys", name))
        projected = find_tensor(doc, "projections", name)
        if projected is not None:
            for b, rows in key_rows(projected).items():
                if not all(map(same, sum(extended[b][:given], []), sum(rows, []))):
                    problems.add(f"extra_keys.{name}: the first {given} rows of batch {b} differ "
                                 f"from projections.{name}")
        if "bias_kv" in config["extra_keys"]:
            bias = [rows[given] for rows in extended.values()]
            if any(not all(map(same, row, bias[0])) for row in bias):
                problems.add(f"extra_keys.{name}: the bias row differs between batches")
        if "zero_attn" in config["extra_keys"]:
            if any(any(x != 0 for x in rows[-1]) for rows in extended.values()):
                problems.add(f"extra_keys.{name}: the add_zero_attn row is not all zeros")


def check_masking(doc, problems):
    """masking: additive_mask from the masks as given, masked = scaled + additive_mask, and what
    a query row with every key blocked does to the later stages; the masks' warnings."""
    config = doc["config"]
    warnings = doc["warnings"]
    attn = find_tensor(doc, "masking", "attn_mask")
    if attn is not None:
        items = list(leaves(attn["data"]))
        if all(isinstance(x, bool) for x in items) != any(isinstance(x, bool) for x in items):
            problems.add("masking.attn_mask: booleans and numbers mixed")
        float_01 = (not any(isinstance(x, bool) for x in items)
                    and all(x in (0, 1) for x in items) and any(x == 1 for x in items))
        if float_01 != any(FLOAT_01_WARNING in w for w in warnings):
            problems.add(f"masking.attn_mask: a warning \"{FLOAT_01_WARNING} …\" is expected "
                         f"exactly when a float attn_mask holds only 0s and 1s")
    keep = find_tensor(doc, "masking", "mask")
    if keep is not None and any(x not in (0, 1) for x in leaves(keep["data"])):
        problems.add("masking.mask: expected only 1 (may attend) and 0 (blocked)")
    additive = find_tensor(doc, "masking", "additive_mask")
    masked = find_tensor(doc, "masking", "masked")
    scaled = find_tensor(doc, "scaling", "scaled")
    if additive is None or masked is None:
        if any(BLOCKED_ROW_WARNING in w for w in warnings):
            problems.add("a blocked-row warning without a masking stage")
        return
    for other in (additive, masked):
        if scaled is not None and (other["axes"], other["shape"]) != (scaled["axes"],
                                                                      scaled["shape"]):
            problems.add(f"masking.{other['name']}: axes {other['axes']} shape {other['shape']}, "
                         f"not those of scaling.scaled ({scaled['axes']}, {scaled['shape']})")
            return
    given = config["kv_len"] - len(config["extra_keys"])
    weights = find_tensor(doc, "softmax", "weights")
    weighted = find_tensor(doc, "weighted_values", "weighted")
    context = find_tensor(doc, "summation", "context")
    wrong = {"additive_mask": 0, "masked": 0}
    first = {}
    blocked_rows = 0
    lead = additive["shape"][:-2]
    for position in itertools.product(*(range(n) for n in lead)):
        where = dict(zip(additive["axes"][:-2], position))
        for i in range(config["q_len"]):
            where["query"] = i
            row_blocked = True
            for j in range(config["kv_len"]):
                where["key"] = j
                # The additive mask the given masks call for (masks.hpp): 0, or the float
                # attn_mask's number; -inf where any mask blocks; 0 in the extra key columns.
                want = 0.0
                if j < given:
                    block = False
                    if attn is not None:
                        a = element(attn, where)
                        if isinstance(a, bool):
                            block = a
                        else:
                            want = value(a)
                    if keep is not None:
                        block = block or value(element(keep, where)) == 0
                    padding = find_tensor(doc, "masking", "key_padding_mask")
                    if padding is not None:
                        block = block or element(padding, where) is True
                    if block:
                        want = -math.inf
                got = value(element(additive, where))
                if not same(got, want):
                    wrong["additive_mask"] += 1
                    first.setdefault("additive_mask", (dict(where), got, want))
                if scaled is not None:
                    total = value(element(scaled, where)) + got
                    got_masked = value(element(masked, where))
                    if not same(got_masked, total):
                        wrong["masked"] += 1
                        first.setdefault("masked", (dict(where), got_masked, total))
                row_blocked = row_blocked and value(element(masked, where)) == -math.inf
            if not row_blocked:
                continue
            # softmax of nothing but -inf: nan weights, and nan from there on
            blocked_rows += 1
            del where["key"]
            for tensor in (weights, weighted, context):
                if tensor is None or "data" not in tensor:
                    continue
                row = element(tensor, where)
                if not all(x == "nan" for x in leaves(row)):
                    problems.add(f"{tensor['name']}: the row of {where_text(where)} has every "
                                 f"key blocked, so it must be all \"nan\"")
    for name, count in wrong.items():
        if count:
            where, got, want = first[name]
            problems.add(f"masking.{name}: {count} element(s) wrong, first at {where_text(where)}: "
                         f"{got!r}, expected {want!r}")
    if (blocked_rows > 0) != any(BLOCKED_ROW_WARNING in w for w in warnings):
        problems.add(f"{blocked_rows} query row(s) with every key blocked, but "
                     f"{'no' if blocked_rows else 'a'} warning \"… {BLOCKED_ROW_WARNING} …\"")


def where_text(where):
    return ", ".join(f"{axis} {index}" for axis, index in where.items() if axis != "key") + (
        f", key {where['key']}" if "key" in where else "")


def check_input(binary, validator, input_name):
    """Returns (problems, summary) for one input."""
    problems = Problems()
    counts = {"tensors": 0, "numbers": 0, "non_finite": 0, "booleans": 0, "omitted": 0}

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

    check_config(doc["config"], problems)
    check_tokens(doc, problems)
    check_stages(doc, problems, counts)
    summary = (f"{len(doc['stages'])} stages, {counts['tensors']} tensors, "
               f"{counts['numbers']} numbers ({counts['non_finite']} inf/nan)"
               + (f", {counts['booleans']} booleans" if counts["booleans"] else "")
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
