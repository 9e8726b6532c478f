#!/usr/bin/env python3
"""Every relative link and image of README.md and docs/**/*.md points to a file of the repository
(and, with a #fragment, to a heading of that file).

    check_links.py SOURCE-DIR
"""
import pathlib
import re
import sys

LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def anchors(page):
    """GitHub's anchors of a page's headings: lower case, punctuation dropped, spaces as '-'."""
    out = set()
    for line in page.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            title = re.sub(r"[^\w\- ]", "", title).replace(" ", "-")
            out.add(title)
    return out


def main():
    root = pathlib.Path(sys.argv[1])
    pages = [root / "README.md", *sorted((root / "docs").rglob("*.md")), root / "tests/README.md",
             root / "bench/README.md"]
    failures, checked = [], 0
    for page in pages:
        text = page.read_text(encoding="utf-8")
        # Code blocks hold commands and output, not links.
        text = re.sub(r"```.*?```", "", text, flags=re.S)
        for target in LINK.findall(text):
            if re.match(r"^[a-z]+:", target) or target.startswith("#"):
                continue
            path, _, fragment = target.partition("#")
            file = (page.parent / path).resolve()
            checked += 1
            if not file.exists():
                failures.append(f"{page.relative_to(root)}: {target}: no such file")
            elif fragment and file.suffix == ".md" and fragment not in anchors(file):
                failures.append(f"{page.relative_to(root)}: {target}: no heading #{fragment}")
    for failure in failures:
        print("FAIL: " + failure)
    if failures:
        sys.exit(1)
    print(f"ok: {checked} links of {len(pages)} pages")


if __name__ == "__main__":
    main()
