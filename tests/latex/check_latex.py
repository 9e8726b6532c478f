#!/usr/bin/env python3
"""run --format latex, compiled as a teacher would compile it: pdflatex (Debian's texlive, no
shell escape) must finish without an error, a missing character or a line or table wider than the
page, and the PDF read back with pdftotext must show what the JSON export of the same run holds —
every stage's number, id and title, the token labels, and every number of the tables at the
precision asked (the tables of tensors small enough to be shown whole).

    check_latex.py ATTN_TRACE INPUT [RUN-FLAGS...] [--wrap article|beamer]

--wrap: the run writes a fragment (--latex-fragment), which is put into a minimal document of that
class with the preamble lines the fragment names, as docs/latex.md tells teachers to.
"""
import json
import math
import re
import subprocess
import sys
import tempfile
from pathlib import Path

# The binary's runs, as the Markdown test makes them.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "markdown"))
from check_markdown import run  # noqa: E402

MAX_OVERFULL_PT = 3.0  # a table or line may poke out of the text by no more than this


def number(value, precision):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return None  # ∞ and nan: shown as symbols, not checked as text
    if abs(value) >= 1e9:
        return None
    text = f"{value:.{precision}f}"
    if text.startswith("-") and set(text[1:]) <= set("0."):
        text = text[1:]
    return text


def flat(data):
    if isinstance(data, list):
        for item in data:
            yield from flat(item)
    else:
        yield data


def wrap(fragment, document_class):
    """A document around a fragment, with the preamble lines its first comment lines name."""
    preamble = [line[4:] for line in fragment.splitlines() if line.startswith("%   \\")]
    if not preamble:
        sys.exit("the fragment does not name the packages it needs")
    if document_class == "beamer":
        # beamer loads xcolor itself: the fragment's comment says to pass it the table option.
        return ("\\documentclass[xcolor=table]{beamer}\n" +
                "\n".join(p for p in preamble if "xcolor" not in p) +
                "\n\\begin{document}\n\\begin{frame}[allowframebreaks]{Attention}\n" + fragment +
                "\n\\end{frame}\n\\end{document}\n")
    return ("\\documentclass{article}\n" + "\n".join(preamble) +
            "\n\\usepackage[a4paper,margin=2cm]{geometry}\n\\begin{document}\n" + fragment +
            "\n\\end{document}\n")


def main():
    args = sys.argv[1:]
    document_class = None
    if "--wrap" in args:
        at = args.index("--wrap")
        document_class = args[at + 1]
        del args[at:at + 2]
    binary, source, *flags = args
    precision = int(flags[flags.index("--precision") + 1]) if "--precision" in flags else 4
    tex = run(binary, [source, "--format", "latex", *flags])
    json_flags = []
    skip = False
    for f in flags:
        if skip:
            skip = False
            continue
        if f in ("--precision",):
            skip = True
            continue
        if f not in ("--full", "--no-header", "--latex-fragment", "--explain"):
            json_flags.append(f)
    trace = json.loads(run(binary, [source, "--format", "json", *json_flags]))
    failures = []
    if "--latex-fragment" in flags:
        code = "\n".join(line for line in tex.splitlines() if not line.startswith("%"))
        if "\\documentclass" in code or "\\begin{document}" in code:
            failures.append("the fragment holds a preamble")
        if document_class:
            tex = wrap(tex, document_class)
    elif not tex.lstrip("%").strip().startswith("Written by attn-trace") and \
            "\\documentclass" not in tex:
        failures.append("not a complete document")

    with tempfile.TemporaryDirectory() as work:
        path = Path(work) / "trace.tex"
        path.write_text(tex, encoding="utf-8")
        compiled = subprocess.run(
            ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape",
             "trace.tex"], cwd=work, capture_output=True, text=True, errors="replace")
        log = (Path(work) / "trace.log").read_text(errors="replace")
        if compiled.returncode != 0:
            errors = [line for line in log.splitlines() if line.startswith("!")]
            sys.exit(f"FAILED: pdflatex: {errors[:5]}")
        for match in re.finditer(r"Overfull \\hbox \((\d+\.\d+)pt too wide\)", log):
            if float(match.group(1)) > MAX_OVERFULL_PT:
                failures.append(f"a line or table {match.group(1)}pt wider than the page")
        for match in re.finditer(r"Overfull \\vbox \((\d+\.\d+)pt too high\)", log):
            if float(match.group(1)) > MAX_OVERFULL_PT and document_class != "beamer":
                failures.append(f"a table {match.group(1)}pt taller than the page")
        if "Missing character" in log:
            failures.append("a character the font does not have")
        if "/etc/passwd" in log:
            failures.append("a token's \\input ran: the log shows /etc/passwd read")
        pdf_text = subprocess.run(["pdftotext", "-layout", str(Path(work) / "trace.pdf"), "-"],
                                  capture_output=True, text=True, check=True).stdout
    # The minus sign of a negative number is U+2212 in the PDF.
    pdf_text = pdf_text.replace("\u2212", "-")
    words = pdf_text.split()
    flowing = " ".join(words)

    # What the walkthrough writes with "--" (a flag) reads "--", not a dash.
    text_run = [] if "--full" in flags else run(binary, [source, *json_flags]).split()
    for flag in re.findall(r"--[a-z-]+", " ".join(text_run)):
        if flag not in flowing and flag in ("--full", "--weighted-limit"):
            failures.append(f"{flag} does not read as written in the PDF")
    if "--no-header" not in flags and trace["name"]:
        if trace["name"] not in flowing:
            failures.append(f"the name {trace['name']!r} is not in the PDF")
    tokens = trace["tokens"]
    tokens = [t for batch in tokens for t in batch] if tokens and isinstance(tokens[0], list) \
        else tokens
    for token in set(tokens):
        shown = token if len(token) <= 12 else token[:11]
        # What pdflatex cannot set (Chinese, emoji) is "?"; Latin and Greek letters are as written.
        shown = "".join(ch if ord(ch) < 0x250 or 0x370 <= ord(ch) < 0x400 else "?" for ch in shown)
        if shown not in flowing:
            failures.append(f"token {token!r} is not in the PDF")
    for n, stage in enumerate(trace["stages"], 1):
        heading = f"{stage['id']} · {stage['title']}".replace("\u2212", "-")
        if heading not in flowing:
            failures.append(f"no heading {heading!r}")
        for tensor in stage["tensors"]:
            if "data" not in tensor:
                continue
            if math.prod(tensor["shape"]) > 1000 and "--full" not in flags:
                continue
            expected = [number(v, precision) for v in flat(tensor["data"])]
            whole = stage["id"] == "masking" and tensor["name"] != "masked"
            missing = [e for e in expected if e is not None and not whole and e not in words]
            if missing:
                failures.append(f"{stage['id']}.{tensor['name']}: {len(missing)} numbers not in the "
                                f"PDF, e.g. {missing[:3]}")

    if failures:
        print(f"FAILED: {source} {' '.join(flags)}")
        for failure in failures[:20]:
            print("  " + failure)
        sys.exit(1)
    print(f"ok: {source} {' '.join(flags)}{' in ' + document_class if document_class else ''}: "
          f"compiled, {len(trace['stages'])} stages and their numbers found in the PDF")


if __name__ == "__main__":
    main()
