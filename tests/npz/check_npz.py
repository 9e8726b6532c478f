#!/usr/bin/python3
"""`attn-trace run … --format npz`, read by NumPy itself and compared with the JSON export.

    check_npz.py BINARY runs RUN...      each RUN one argument: the input and the flags of a run,
                                         split on spaces ("multihead --until softmax")
    check_npz.py BINARY bad_paths        -o where nothing can be written, or a write that fails
    check_npz.py BINARY snippet PAGE     the notebook snippet of PAGE (docs/trace-format.md, "The
                                         NumPy export") runs on `run multihead`'s archive and
                                         prints what its comments say

For each RUN it writes the .npz and the JSON export of the same run and checks that:
  - np.load(path, allow_pickle=False) reads every member, with NumPy alone;
  - the arrays are trace.json and exactly the JSON export's tensors with "data", named
    STAGE.TENSOR, in its order; each float64, C order, of the tensor's shape, its values those of
    "data" (bit for bit: JSON's shortest round-trip decimals give the same doubles, "inf", "-inf"
    and "nan" those values, booleans 1 and 0);
  - json.loads(trace.json) is the JSON export without the numbers: every top-level field the same,
    each stage's words, each tensor's name, axes, shape and "array" (or "omitted");
  - unfocused, `attn-trace check NPZ INPUT` finds every tensor right (exit 0); focused, it refuses
    it as it refuses a focused JSON trace (exit 1).
It prints one line per failed check and exits 1 when any failed or when nothing was checked.
"""

import json
import os
import resource
import signal
import subprocess
import sys
import tempfile

import numpy as np

failures = []
checked = 0


def fail(what):
    failures.append(what)
    print("FAIL: " + what)


def expect(condition, what):
    global checked
    checked += 1
    if not condition:
        fail(what)
    return condition


def values_of(data, shape):
    """The JSON export's nested lists as a float64 array, "inf"/"-inf"/"nan" and booleans read."""
    words = {"inf": np.inf, "-inf": -np.inf, "nan": np.nan, True: 1.0, False: 0.0}

    def leaf(v):
        if isinstance(v, (str, bool)):
            return words[v]
        return float(v)

    def walk(v):
        return [walk(x) for x in v] if isinstance(v, list) else leaf(v)

    return np.array(walk(data), dtype=np.float64).reshape(shape)


def same_bits(a, b):
    """Equal as doubles: every nan where the other has nan, and otherwise the same value and sign."""
    if a.shape != b.shape:
        return False
    nan = np.isnan(a)
    return (np.array_equal(nan, np.isnan(b)) and np.array_equal(a[~nan], b[~nan])
            and np.array_equal(np.signbit(a[~nan]), np.signbit(b[~nan])))


def check_run(binary, run, workdir):
    args = run.split()
    label = run.replace(" ", "_").replace("/", "_").replace("=", "-")
    npz_path = os.path.join(workdir, label + ".npz")
    made = subprocess.run([binary, "run", *args, "--format", "npz", "-o", npz_path],
                          capture_output=True, text=True)
    if not expect(made.returncode == 0, "%s: --format npz exits %d: %s"
                  % (run, made.returncode, made.stderr.strip())):
        return
    expect(made.stdout == "", "%s: --format npz printed on standard output" % run)
    exported = subprocess.run([binary, "run", *args, "--format", "json"], capture_output=True,
                              text=True, check=True)
    doc = json.loads(exported.stdout)

    with np.load(npz_path, allow_pickle=False) as npz:
        arrays = {name: npz[name] for name in npz.files}
        names = list(npz.files)
    expected_names = ["trace.json"]
    for stage in doc["stages"]:
        for tensor in stage["tensors"]:
            if "data" in tensor:
                expected_names.append("%s.%s" % (stage["id"], tensor["name"]))
    expect(names == expected_names, "%s: arrays %s, expected %s" % (run, names, expected_names))

    text = arrays.get("trace.json")
    if expect(text is not None and text.shape == () and text.dtype.kind == "U",
              "%s: trace.json is not a 0-d string array" % run):
        meta = json.loads(text.item())
        for key in doc:
            if key != "stages":
                expect(meta.get(key) == doc[key], "%s: trace.json %s differs" % (run, key))
        expect(set(meta) == set(doc), "%s: trace.json keys %s, expected %s"
               % (run, sorted(meta), sorted(doc)))
        expect(len(meta["stages"]) == len(doc["stages"]), "%s: trace.json stage count" % run)
        for mine, theirs in zip(meta["stages"], doc["stages"]):
            for key in ("id", "title", "formula", "shapes", "note"):
                expect(mine.get(key) == theirs.get(key), "%s: %s.%s" % (run, theirs["id"], key))
            for t_mine, t_theirs in zip(mine["tensors"], theirs["tensors"]):
                where = "%s: %s.%s" % (run, theirs["id"], t_theirs["name"])
                for key in ("name", "axes", "shape", "omitted"):
                    expect(t_mine.get(key) == t_theirs.get(key), "%s: %s differs" % (where, key))
                wanted = "%s.%s" % (theirs["id"], t_theirs["name"]) if "data" in t_theirs else None
                expect(t_mine.get("array") == wanted, "%s: array %r" % (where, t_mine.get("array")))

    for stage in doc["stages"]:
        for tensor in stage["tensors"]:
            if "data" not in tensor:
                continue
            name = "%s.%s" % (stage["id"], tensor["name"])
            got = arrays.get(name)
            if not expect(got is not None, "%s: no array %s" % (run, name)):
                continue
            expect(got.dtype == np.float64 and got.flags["C_CONTIGUOUS"],
                   "%s: %s is %s, expected float64 in C order" % (run, name, got.dtype))
            expect(list(got.shape) == tensor["shape"],
                   "%s: %s has shape %s, expected %s" % (run, name, got.shape, tensor["shape"]))
            want = values_of(tensor["data"], tensor["shape"])
            expect(same_bits(got, want), "%s: %s's numbers differ from the JSON export's"
                   % (run, name))

    # check reads the .npz as MINE: every tensor right on its own input; a focused one refused.
    checked_run = subprocess.run([binary, "check", npz_path, args[0]], capture_output=True,
                                 text=True)
    if "focus" in doc:
        expect(checked_run.returncode == 1 and "this trace was written with --focus"
               in checked_run.stderr, "%s: check of a focused npz exits %d: %s"
               % (run, checked_run.returncode, checked_run.stderr.strip()))
    elif "--stages" not in args and "--until" not in args:
        expect(checked_run.returncode == 0, "%s: check NPZ INPUT exits %d: %s"
               % (run, checked_run.returncode,
                  (checked_run.stderr or checked_run.stdout).strip()[:300]))


def no_temporaries(folder):
    return not [f for f in os.listdir(folder) if ".tmp-" in f]


def check_bad_paths(binary, workdir):
    # -o is required.
    run = subprocess.run([binary, "run", "--format", "npz"], capture_output=True, text=True)
    expect(run.returncode == 2 and run.stdout == "", "--format npz without -o exits %d"
           % run.returncode)
    expect("--format npz: it needs -o FILE" in run.stderr,
           "--format npz without -o: message %r" % run.stderr)
    # A folder that does not exist, or a file where a folder belongs.
    for path, why in [(os.path.join(workdir, "missing", "t.npz"), "does not exist"),
                      (os.path.join(workdir, "plain-file", "t.npz"), "Not a directory"),
                      (workdir, "it is a directory")]:
        if "plain-file" in path:
            open(os.path.join(workdir, "plain-file"), "w").close()
        run = subprocess.run([binary, "run", "--format", "npz", "-o", path],
                             capture_output=True, text=True)
        lines = run.stderr.strip().splitlines()
        expect(run.returncode == 1, "-o %s exits %d" % (path, run.returncode))
        expect(lines and lines[0].startswith("attn-trace: error: cannot write %s" % path)
               and why in run.stderr, "-o %s: message %r" % (path, run.stderr))
        expect(not os.path.exists(path) or os.path.isdir(path), "-o %s left a file" % path)
    # A write that fails half way: the file-size limit stops it after 4 KiB (SIGXFSZ ignored, so
    # write(2) fails with EFBIG); no file and no temporary is left.
    target = os.path.join(workdir, "cut.npz")

    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))

    run = subprocess.run([binary, "run", "multihead", "--format", "npz", "-o", target],
                         capture_output=True, text=True, preexec_fn=limit)
    expect(run.returncode == 1, "a failed write exits %d" % run.returncode)
    expect(run.stderr.startswith("attn-trace: error: cannot write %s: File too large" % target),
           "a failed write: message %r" % run.stderr)
    expect(not os.path.exists(target), "a failed write left %s" % target)
    expect(no_temporaries(workdir), "a failed write left a temporary file")
    # An existing file is kept whole by a failed write.
    with open(target, "w") as fh:
        fh.write("old")
    subprocess.run([binary, "run", "multihead", "--format", "npz", "-o", target],
                   capture_output=True, preexec_fn=limit)
    with open(target) as fh:
        expect(fh.read() == "old", "a failed write changed the existing file")


def check_snippet(binary, page, workdir):
    with open(page, encoding="utf-8") as fh:
        text = fh.read()
    section = text[text.index("## The NumPy export"):]
    start = section.index("```python\n") + len("```python\n")
    snippet = section[start:section.index("```\n", start)]
    subprocess.run([binary, "run", "multihead", "--format", "npz", "-o",
                    os.path.join(workdir, "trace.npz")], check=True)
    run = subprocess.run([sys.executable, "-c", snippet], cwd=workdir, capture_output=True,
                         text=True)
    expect(run.returncode == 0, "the snippet fails: %s" % run.stderr.strip())
    lines = run.stdout.splitlines()
    expect(len(lines) >= 3 and lines[0] == "(2, 4, 4)", "the snippet prints %r" % run.stdout)
    expect("['head', 'query', 'key']" in run.stdout, "the snippet prints %r" % run.stdout)


def main():
    if len(sys.argv) < 3 or sys.argv[2] not in ("runs", "bad_paths", "snippet"):
        sys.exit(__doc__)
    binary = sys.argv[1]
    with tempfile.TemporaryDirectory() as workdir:
        if sys.argv[2] == "bad_paths":
            check_bad_paths(binary, workdir)
        elif sys.argv[2] == "snippet":
            check_snippet(binary, sys.argv[3], workdir)
        else:
            for run in sys.argv[3:]:
                check_run(binary, run, workdir)
    if not checked:
        sys.exit("nothing was checked")
    print("%d checks, %d failed" % (checked, len(failures)))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
