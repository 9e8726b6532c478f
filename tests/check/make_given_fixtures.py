#!/usr/bin/env python3
"""Writes the learner's files that `attn-trace check` reads (src/input/given.cpp), for
tests/unit/test_given.cpp and the bad-input tests of tests/check/bad_given/expected.tsv:

    tests/check/given/       files that must be read, and what they hold
    tests/check/bad_given/   files that must be refused, one mistake each

    /usr/bin/python3 tests/check/make_given_fixtures.py [ATTN_TRACE]

With ATTN_TRACE (the built binary) it also writes the traces: given/karim-trace.json (the bundled
example karim), given/masked-trace.json (two heads, a causal mask and a key padding mask, weighted
left out) and bad_given/focus-trace.json (written with --focus). The output is the same every
run."""

import io
import json
import os
import subprocess
import sys
import warnings
import zipfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
GIVEN = os.path.join(HERE, "given")
BAD = os.path.join(HERE, "bad_given")
REPO = os.path.dirname(os.path.dirname(HERE))


def write_text(folder, name, text):
    with open(os.path.join(folder, name), "w", encoding="utf-8") as f:
        f.write(text)


def npy_bytes(array):
    out = io.BytesIO()
    np.save(out, array, allow_pickle=True)
    return out.getvalue()


def write_zip(path, members):
    """An .npz by hand: `members` is a list of (member name, bytes), kept as given (np.savez
    cannot write a name twice, nor a member that is not an .npy). Fixed timestamps keep the bytes
    the same every run."""
    with zipfile.ZipFile(path, "w") as z, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Duplicate name": on purpose, in twice.npz
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
            z.writestr(info, data)


def good_files():
    os.makedirs(GIVEN, exist_ok=True)
    # Every dtype and layout numpy.cpp reads, in the order the test expects them. float32 values
    # such as 0.1 must come out as their exact doubles, 0.100000001490116…
    scores = np.array([[0.1, -2.5, 3.0], [1e-8, np.inf, -np.inf]], dtype=np.float32)
    weights = np.array([[[[0.25, 0.75, np.nan]]]], dtype=np.float64)  # (1, 1, 1, 3)
    counts = np.array([-3, 0, 2**40], dtype=np.int64)
    keep = np.array([[True, False], [False, True]])
    fortran = np.asfortranarray(np.arange(6, dtype=np.float64).reshape(2, 3))
    big_endian = np.array([1.5, -0.5], dtype=">f4")
    half = np.array([0.1, 65504.0], dtype=np.float16)
    weighted = np.arange(2 * 1 * 2 * 2 * 3, dtype=np.float32).reshape(2, 1, 2, 2, 3) / 8
    scale = np.float64(0.5)  # shape ()
    arrays = {"attn_scores": scores, "p_attn": weights, "counts": counts, "mask": keep,
              "fortran": fortran, "big_endian": big_endian, "half": half, "weighted": weighted,
              "scale": scale}
    path = os.path.join(GIVEN, "mine.npz")
    np.savez(path, **arrays)
    # The same through np.savez_compressed: deflated members.
    np.savez_compressed(os.path.join(GIVEN, "mine-compressed.npz"), q=scores, split_heads=weights)
    # zip's timestamps differ each run: pin them, so that the files are the same every run.
    for name in ("mine.npz", "mine-compressed.npz"):
        repin(os.path.join(GIVEN, name))


def repin(path):
    """Rewrites the archive at `path` with fixed timestamps, its members and compression kept."""
    with zipfile.ZipFile(path) as z:
        members = [(info, z.read(info.filename)) for info in z.infolist()]
    with zipfile.ZipFile(path, "w") as z:
        for info, data in members:
            fixed = zipfile.ZipInfo(info.filename, date_time=(2026, 1, 1, 0, 0, 0))
            fixed.compress_type = info.compress_type
            z.writestr(fixed, data)


def bad_files():
    os.makedirs(BAD, exist_ok=True)
    x = np.ones((2, 2))
    # NumPy files
    with open(os.path.join(BAD, "bare.npy"), "wb") as f:
        f.write(npy_bytes(x))
    write_zip(os.path.join(BAD, "pickled.npz"),
              [("q.npy", npy_bytes(np.array([{"a": 1}, None], dtype=object)))])
    write_zip(os.path.join(BAD, "six-axes.npz"), [("weighted.npy", npy_bytes(np.ones((1,) * 6)))])
    write_zip(os.path.join(BAD, "twice.npz"),
              [("scores.npy", npy_bytes(x)), ("scores.npy", npy_bytes(x))])
    write_zip(os.path.join(BAD, "member-not-npy.npz"),
              [("q.npy", npy_bytes(x)), ("notes.txt", b"my attention\n")])
    write_zip(os.path.join(BAD, "text-array.npz"), [("tokens.npy", npy_bytes(np.array(["a"])))])
    np.savez(os.path.join(BAD, "empty.npz"))
    # JSON
    write_text(BAD, "not-json.json", '{"scores": [[1, 2], [3 4]]}\n')
    write_text(BAD, "empty-file.json", "")
    write_text(BAD, "top-level-list.json", "[[0.5, 0.5], [1, 0]]\n")
    write_text(BAD, "top-level-number.json", "3\n")
    write_text(BAD, "empty-object.json", "{}\n")
    write_text(BAD, "string-value.json", '{"scores": "[[1, 2], [3, 4]]"}\n')
    write_text(BAD, "scalar-string.json", '{"scale": "half"}\n')
    write_text(BAD, "object-value.json", '{"attn": {"scores": [[1, 2], [3, 4]]}}\n')
    write_text(BAD, "null-value.json", '{"scores": null}\n')
    write_text(BAD, "ragged.json", '{"attn_weights": [[0.2, 0.3, 0.5], [0.5, 0.5]]}\n')
    write_text(BAD, "uneven-depth.json", '{"q": [[1, 2], [3, [4]]]}\n')
    write_text(BAD, "empty-list.json", '{"q": []}\n')
    write_text(BAD, "leaf-string.json", '{"scores": [[1, "-infinity"], [3, 4]]}\n')
    write_text(BAD, "leaf-null.json", '{"scores": [[1, 2], [null, 4]]}\n')
    write_text(BAD, "duplicate-name.json", '{"q": [1, 2],\n "q": [3, 4]}\n')
    write_text(BAD, "empty-name.json", '{"": [1, 2]}\n')
    write_text(BAD, "six-axes.json", '{"weighted": [[[[[[1]]]]]]}\n')
    write_text(BAD, "too-deep.json", '{"q": ' + "[" * 20 + "1" + "]" * 20 + "}\n")
    write_text(BAD, "too-many-names.json",
               "{" + ", ".join(f"\"t{i}\": [1]" for i in range(300)) + "}")
    write_text(BAD, "over-budget.json", json.dumps({"scores": [[0.125] * 16] * 8}) + "\n")
    # attn-trace's own documents that are not whole traces
    write_text(BAD, "version-2-trace.json",
               '{"format": "attn-trace", "version": 2, "config": {}, "stages": []}\n')
    write_text(BAD, "no-version-trace.json", '{"format": "attn-trace", "stages": []}\n')
    write_text(BAD, "check-report.json",
               '{"format": "attn-trace check v1", "match": true, "tensors": []}\n')
    write_text(BAD, "trace-no-stages.json", '{"format": "attn-trace", "version": 1}\n')
    write_text(BAD, "trace-empty.json", '{"format": "attn-trace", "version": 1, "stages": []}\n')
    write_text(BAD, "trace-shape-lie.json", json.dumps({
        "format": "attn-trace", "version": 1, "stages": [
            {"id": "scores", "tensors": [
                {"name": "scores", "axes": ["query", "key"], "shape": [2, 3],
                 "data": [[1, 2], [3, 4]]}]}]}) + "\n")


def traces(binary):
    def run(args, out):
        subprocess.run([binary, "run", *args, "--format", "json", "-o", out], check=True,
                       cwd=REPO)
    run(["karim"], os.path.join(GIVEN, "karim-trace.json"))
    run(["tests/cli/inputs/causal_padding.json", "--heads", "2", "--weighted-limit", "0"],
        os.path.join(GIVEN, "masked-trace.json"))
    run(["karim", "--focus", "query=1"], os.path.join(BAD, "focus-trace.json"))


if __name__ == "__main__":
    good_files()
    bad_files()
    if len(sys.argv) > 1:
        traces(os.path.abspath(sys.argv[1]))
