#!/usr/bin/env python3
"""run --format markdown, read as GitHub reads it: cmark-gfm (Debian's, with the table extension)
turns the Markdown into HTML, and this checks that HTML against the JSON export of the same run —
one heading per stage shown, one table per 2-D block with the tokens as its header row and first
column, every number shown equal to the trace's, the elision of large tensors as the text
walkthrough does it, and nothing a token holds turned into markup.

    check_markdown.py ATTN_TRACE INPUT [RUN-FLAGS...]

INPUT is a file or a bundled example's name.
"""
import html.parser
import json
import math
import re
import subprocess
import sys

SUMMARY_THRESHOLD = 1000  # render/text.hpp: larger tensors are summarised
EDGE = 3  # walkthrough.hpp: edge_items
MAX_LABEL = 12


class Page(html.parser.HTMLParser):
    """The parts of cmark-gfm's HTML that the checks read: headings, tables, and every tag."""

    def __init__(self):
        super().__init__()
        self.h1, self.h2, self.tables, self.tags = [], [], [], []
        self._text = None  # text of the element being read
        self._row = None

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag in ("h1", "h2", "td", "th"):
            self._text = ""
        elif tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self._row = []

    def handle_endtag(self, tag):
        if tag == "h1":
            self.h1.append(self._text)
        elif tag == "h2":
            self.h2.append(self._text)
        elif tag in ("td", "th"):
            self._row.append(self._text.strip())
        elif tag == "tr":
            self.tables[-1].append(self._row)
        if tag in ("h1", "h2", "td", "th"):
            self._text = None

    def handle_data(self, data):
        if self._text is not None:
            self._text += data


def run(binary, args):
    result = subprocess.run([binary, "run", *args], capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"attn-trace run {' '.join(args)} failed ({result.returncode}): {result.stderr}")
    return result.stdout


def number(value, precision):
    """render's format_number: fixed decimals, the symbols for inf and nan, never -0."""
    if isinstance(value, str):
        return {"inf": "∞", "-inf": "−∞", "nan": "nan"}[value]
    if abs(value) >= 1e9:
        mantissa, exponent = f"{value:.{precision}e}".split("e")
        return f"{mantissa}e{exponent[0]}{exponent[1:]}"
    text = f"{value:.{precision}f}"
    if text.startswith("-") and set(text[1:]) <= set("0."):
        text = text[1:]
    return text


def cell(tensor, value, precision, whole):
    if isinstance(value, bool):  # a boolean mask: JSON's true and false
        return "true" if value else "false"
    if whole and not isinstance(value, str) and value == round(value) and abs(value) < 1e9:
        return str(int(value))
    return number(value, precision)


def shown(n, summarise):
    if not summarise or n <= 2 * EDGE:
        return list(range(n))
    return list(range(EDGE)) + [None] + list(range(n - EDGE, n))


def label(token):
    """token_label: printable, cut to 12 columns (these tests' tokens are ASCII or short)."""
    return token if len(token) <= MAX_LABEL else token[: MAX_LABEL - 1] + "…"


def expected_tables(trace, tensor, whole, precision, full):
    """The tables the walkthrough shows of one tensor, each a list of rows of cell texts."""
    shape, axes, data = tensor["shape"], tensor["axes"], tensor["data"]
    summarise = not full and math.prod(shape) > SUMMARY_THRESHOLD
    tokens, kv_tokens = trace["tokens"], trace["kv_tokens"]
    if tokens and isinstance(tokens[0], str):
        tokens, kv_tokens = [tokens], [kv_tokens]

    def axis_label(axis, i, b):
        if axis == "query":
            return label(tokens[b][i])
        if axis == "key":
            return label(kv_tokens[b][i])
        return str(i)

    leading = shape[:-2] if len(shape) >= 2 else []
    blocks = [[]]
    for n in leading:
        blocks = [b + [i] for b in blocks for i in shown(n, summarise)]
    tables = []
    for index in blocks:
        if None in index:
            continue  # blocks a summary leaves out: a line says how many, not a table
        block = data
        for i in index:
            block = block[i]
        b = index[0] if axes[0] == "batch" and leading else 0
        if len(shape) == 1:
            block = [block]
        rows, cols = shown(len(block), summarise), shown(len(block[0]), summarise)
        header = [""] if len(shape) >= 2 else []
        header += ["…" if c is None else axis_label(axes[-1], c, b) for c in cols]
        table = [header]
        for r in rows:
            row = []
            if len(shape) >= 2:
                row.append("⋮" if r is None else axis_label(axes[-2], r, b))
            for c in cols:
                if r is None:
                    row.append("⋱" if c is None else "⋮")
                elif c is None:
                    row.append("…")
                else:
                    row.append(cell(tensor, block[r][c], precision, whole))
            table.append(row)
        tables.append(table)
    return tables


def main():
    binary, source, *flags = sys.argv[1:]
    precision, full = 4, "--full" in flags
    if "--precision" in flags:
        precision = int(flags[flags.index("--precision") + 1])
    markdown = run(binary, [source, "--format", "markdown", *flags])
    trace = json.loads(run(binary, [source, "--format", "json",
                                    *[f for f in flags if f not in ("--full", "--no-header")
                                      and not f.startswith("--precision")
                                      and f != str(precision)]]))
    html_text = subprocess.run(["cmark-gfm", "-e", "table", "--to", "html"], input=markdown,
                               capture_output=True, text=True, check=True).stdout
    page = Page()
    page.feed(html_text)
    failures = []

    # Markup only from the renderer: a token, name or note cannot add a tag.
    allowed = {"h1", "h2", "p", "ul", "li", "strong", "em", "code", "table", "thead", "tbody",
               "tr", "th", "td", "blockquote"}
    if set(page.tags) - allowed:
        failures.append(f"unexpected HTML elements: {sorted(set(page.tags) - allowed)}")

    # A formula is one paragraph of math that no Markdown reader turns into emphasis ("}_{").
    for formula in re.findall(r"<p>\$.*?</p>", html_text, flags=re.S):
        if "<" in formula[3:-4]:
            failures.append(f"a formula holds markup: {formula[:120]}")

    if "--no-header" in flags:
        if page.h1:
            failures.append(f"--no-header, yet a title: {page.h1}")
    else:
        # The name as written, every character of it text (the hostile input's holds markup).
        title = "attn-trace · " + trace["name"] if trace["name"] else "attn-trace"
        if page.h1 != [title]:
            failures.append(f"title {page.h1}, expected [{title!r}]")

    total = len(trace["stages"]) if "--stages" not in flags and "--until" not in flags else None
    tables = []
    for stage in trace["stages"]:
        heading = f"· {stage['id']} · {stage['title']}"
        if not any(h.endswith(heading) for h in page.h2):
            failures.append(f"no heading for stage {stage['id']}: {page.h2}")
        if total and not any(h.startswith(f"{trace['stages'].index(stage) + 1}/{total} ")
                             for h in page.h2 if h.endswith(heading)):
            failures.append(f"stage {stage['id']}: heading without its number of {total}")
        for tensor in stage["tensors"]:
            if "data" not in tensor:
                continue  # left out (weighted_values above --weighted-limit)
            whole = stage["id"] == "masking" and tensor["name"] != "masked"
            tables += expected_tables(trace, tensor, whole, precision, full)
    if "--stages" not in flags and "--until" not in flags and any(
            s["id"] == "softmax" for s in trace["stages"]):
        last = trace["stages"][-1]["tensors"][-1]
        tables += expected_tables(trace, last, False, precision, full)
        if "Summary" not in page.h2:
            failures.append("no summary")

    if len(page.tables) != len(tables):
        failures.append(f"{len(page.tables)} tables, expected {len(tables)}")
    for n, (got, want) in enumerate(zip(page.tables, tables)):
        if got != want:
            failures.append(f"table {n} differs:\n  got  {got}\n  want {want}")
            break

    if failures:
        print(f"FAILED: {source} {' '.join(flags)}")
        for failure in failures:
            print("  " + failure)
        sys.exit(1)
    print(f"ok: {source} {' '.join(flags)}: {len(page.h2)} headings, {len(tables)} tables, "
          f"{sum(len(t) - 1 for t in tables)} rows checked")


if __name__ == "__main__":
    main()
