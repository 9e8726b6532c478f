#!/usr/bin/python3
"""Run `attn-trace check` on every case of cases.tsv and check its verdict.

    run_cases.py BINARY CHECK_DIR [CASE_PREFIX]

CHECK_DIR is tests/check (it holds cases.tsv, mine/ and inputs/). With CASE_PREFIX, only the
cases whose MINE (as written in cases.tsv, e.g. `mine/scale_missing`) starts with it are run.

For each case it runs `BINARY check MINE INPUT --format json` and checks:
  - the exit status (0: every tensor matches, 3: one differs);
  - exit 0: "match" is true and "first_difference" is null;
  - exit 3: "match" is false, first_difference.stage is FIRST_STAGE and diagnosis[0].id is
    FIRST_DIAGNOSIS_ID.
It prints one line per failed case, with the command that reproduces it, and exits 1 when a case
failed or when no case was run.
"""

import json
import os
import shlex
import subprocess
import sys


def read_cases(path):
    cases = []
    with open(path) as fh:
        for number, line in enumerate(fh, 1):
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            fields = line.split("\t")
            if len(fields) != 5:
                sys.exit("%s:%d: expected 5 tab-separated fields, found %d"
                         % (path, number, len(fields)))
            mine, inp, status, stage, diagnosis = fields
            cases.append((mine, inp, int(status), stage, diagnosis))
    return cases


def check_one(binary, check_dir, mine, inp, status, stage, diagnosis):
    """The command run, and what was wrong with its verdict (None when it was right)."""
    mine_path = os.path.join(check_dir, mine)
    # an input is a file of CHECK_DIR, or the name of a bundled example
    input_arg = os.path.join(check_dir, inp) if inp.endswith(".json") else inp
    cmd = [binary, "check", mine_path, input_arg, "--format", "json"]
    try:
        run = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        return cmd, "timed out after 60 s"
    if run.returncode != status:
        err = run.stderr.strip().splitlines()
        return cmd, "exit %d, expected %d%s" % (run.returncode, status,
                                                 (": " + err[0]) if err else "")
    try:
        report = json.loads(run.stdout)
    except ValueError as e:
        return cmd, "stdout is not JSON (%s)" % e
    if not isinstance(report, dict):
        return cmd, "stdout is not a JSON object"
    if report.get("format") != "attn-trace check v1":
        return cmd, "format is %r, expected 'attn-trace check v1'" % report.get("format")
    first = report.get("first_difference")
    if status == 0:
        if report.get("match") is not True:
            return cmd, "match is %r, expected true" % report.get("match")
        if first is not None:
            return cmd, "first_difference is %s, expected null" % json.dumps(first)
        return cmd, None
    if report.get("match") is not False:
        return cmd, "match is %r, expected false" % report.get("match")
    if not isinstance(first, dict):
        return cmd, "first_difference is %s, expected an object" % json.dumps(first)
    if first.get("stage") != stage:
        return cmd, "first_difference.stage is %r (tensor %r), expected %r" % (
            first.get("stage"), first.get("tensor"), stage)
    found = report.get("diagnosis")
    if not isinstance(found, list) or not found:
        return cmd, "diagnosis is %s, expected %r first" % (json.dumps(found), diagnosis)
    ids = [d.get("id") if isinstance(d, dict) else d for d in found]
    if ids[0] != diagnosis:
        return cmd, "diagnosis ids are %s, expected %r first" % (ids, diagnosis)
    return cmd, None


def main(argv):
    if len(argv) not in (3, 4):
        sys.stderr.write(__doc__)
        return 2
    binary, check_dir = argv[1], argv[2]
    prefix = argv[3] if len(argv) == 4 else ""
    cases = [c for c in read_cases(os.path.join(check_dir, "cases.tsv"))
             if c[0].startswith(prefix)]
    if not cases:
        print("no case in %s/cases.tsv has a MINE starting with %r"
              % (check_dir, prefix))
        return 1
    failed = 0
    for case in cases:
        cmd, problem = check_one(binary, check_dir, *case)
        if problem:
            failed += 1
            print("FAIL %s: %s\n    %s" % (case[0], problem, shlex.join(cmd)))
    print("%d of %d cases passed" % (len(cases) - failed, len(cases)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
