#!/usr/bin/env python3
"""The man page attn-trace(1) and the bash completion, both made from the built binary itself.

    cli_docs.py BINARY OUT_DIR VERSION

writes OUT_DIR/attn-trace.1 (and attn-trace.1.gz, the one installed) and OUT_DIR/attn-trace.bash.
Both read what the binary prints: its --help and every subcommand's --help (CLI11's layout), the
stage names from run --help's --stages line, and the example names from `attn-trace examples`.
So a new flag, stage or example reaches the man page and the completion with the next build, and
the man page says exactly what --help says. The build runs this (src/cli/CMakeLists.txt); a change
in the help's layout that this cannot read fails the build rather than leaving a page short.
"""
import gzip
import re
import subprocess
import sys
from pathlib import Path


def run(binary, *args):
    result = subprocess.run([binary, *args], capture_output=True, text=True, check=True)
    return result.stdout


def parse_help(text):
    """CLI11's help → (description, usage, {section: [(spec, description)]}, footer lines)."""
    lines = text.rstrip("\n").split("\n")
    description = lines[0]
    usage = lines[1].removeprefix("Usage: ")
    sections, footer, section = {}, [], None
    for line in lines[2:]:
        if not line.strip():
            section = None
            continue
        heading = re.fullmatch(r"(\w[\w ]*):", line)
        if heading:
            section = heading.group(1)
            sections[section] = []
        elif section is None:
            footer.append(line)
        elif line.startswith("  ") and not line.startswith("   "):
            # "  --precision INT:N=4         Decimals per number", or the spec alone, the
            # description on the next line under the description column.
            spec, _, rest = line.strip().partition("  ")
            sections[section].append([spec.strip(), rest.strip()])
        else:
            sections[section][-1][1] += line.strip()
    return description, usage, sections, footer


def option_names(spec):
    """'-o,--output TEXT:PATH' → (['-o', '--output'], 'TEXT:PATH')."""
    names, _, kind = spec.partition(" ")
    return names.split(","), kind


def roff(text):
    """Plain text → roff: backslashes, hyphens, leading dots and quotes, non-ASCII as \\[uXXXX]."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    text = "".join(c if ord(c) < 128 else f"\\[u{ord(c):04X}]" for c in text)
    return "\\&" + text if text[:1] in (".", "'") else text


def man_page(binary, version, top, subs):
    description, _, sections, footer = top
    name = "attn-trace"
    out = [
        f'.TH ATTN\\-TRACE 1 "" "{name} {version}" "User Commands"',
        ".SH NAME",
        f"{name} \\- {roff(description.removeprefix(name + ': ').rstrip('.'))}",
        ".SH SYNOPSIS",
        ".nf",
    ]
    for sub, (_, usage, _, _) in subs.items():
        out.append(f"\\fB{name} {sub}\\fR {roff(usage.removeprefix(f'{name} {sub}').strip())}")
    out += [f"\\fB{name}\\fR \\-\\-help | \\-\\-version", ".fi", ".SH DESCRIPTION",
            roff(description.removeprefix(name + ": ").capitalize()),
            ".PP", "Each subcommand takes the flags listed under it; \\fB\\-\\-help\\fR after a "
            "subcommand prints them too.", ".SH OPTIONS"]
    out += options(sections.get("Options", []))
    out.append(".SH SUBCOMMANDS")
    for sub, (sub_description, usage, sub_sections, _) in subs.items():
        out += [f'.SS "{roff(usage)}"', roff(sub_description)]
        for section in ("Positionals", "Options"):
            out += options(sub_sections.get(section, []))
    out += [".SH EXIT STATUS"]
    for line in footer:
        if line.startswith("Exit status:"):
            for status in line.removeprefix("Exit status:").strip().rstrip(".").split(", "):
                code, _, meaning = status.partition(" ")
                out += [".TP", f"\\fB{code}\\fR", roff(meaning)]
    out += [".SH EXAMPLES", ".nf"]
    out += [roff(line) for line in footer if not line.startswith("Exit status:")]
    out += [".fi", ".SH FILES", ".TP", "\\fI/usr/share/bash\\-completion/completions/attn\\-trace\\fR",
            "Bash completion of subcommands, flags, stage names and example names.",
            ".SH SEE ALSO",
            "The documentation that comes with the source: README.md, docs/cli.md, "
            "docs/input-format.md, docs/trace-format.md, docs/stages.md, docs/explain.md."]
    return "\n".join(out) + "\n"


def options(entries):
    out = []
    for spec, description in entries:
        names, kind = option_names(spec)
        shown = ", ".join(f"\\fB{roff(n)}\\fR" for n in names)
        out += [".TP", f"{shown} \\fI{roff(kind)}\\fR" if kind else shown, roff(description)]
    return out


def value_kind(kind, stages, examples):
    """What the value of an option with CLI11's type column `kind` completes to."""
    enum = re.search(r"\{([^}]*)\}", kind)
    if enum:
        return "words " + " ".join(enum.group(1).split(","))
    if "STAGE" in kind:
        return "stages"
    if "NAME" in kind:
        return "words " + " ".join(examples)
    if "FILE" in kind or "PATH" in kind:
        return "files"
    return "none"  # numbers, sizes, slices, text: nothing to offer


def completion(subs, top_flags, stages, examples):
    lines = [
        "# bash completion for attn-trace: subcommands, each subcommand's flags, stage names",
        "# (--stages, --until), example names (--example, --show, FILE), the values of enum flags",
        "# (--format, --color, --layout) and files otherwise. Generated from the binary's --help by",
        "# tools/cli_docs.py at build time; needs nothing from the bash-completion package.",
        "",
        f"_attn_trace_subcommands='{' '.join(subs)}'",
        f"_attn_trace_stages='{' '.join(stages)}'",
        f"_attn_trace_examples='{' '.join(examples)}'",
        "",
        "# The flags of a subcommand (\"\" for none given yet).",
        "_attn_trace_flags() {",
        "  case $1 in",
        f"    '') echo '{' '.join(top_flags)}' ;;",
    ]
    values = []
    for sub, (_, _, sections, _) in subs.items():
        flags = []
        for spec, _ in sections.get("Options", []):
            names, kind = option_names(spec)
            flags += [n for n in names if n.startswith("--")]
            if kind:
                values.append((sub, names, value_kind(kind, stages, examples)))
        lines.append(f"    {sub}) echo '{' '.join(flags)}' ;;")
    lines += ["  esac", "}", "",
              "# What the value of flag $2 of subcommand $1 completes to: files, stages, none, or",
              "# 'words W…'; nothing when $2 takes no value.",
              "_attn_trace_value() {", '  case "$1 $2" in']
    for sub, names, kind in values:
        patterns = "|".join(f"'{sub} {n}'" for n in names)
        lines.append(f"    {patterns}) echo '{kind}' ;;")
    lines += ["  esac", "}", ""]
    lines += COMPLETION_FUNCTION.splitlines()
    return "\n".join(lines) + "\n"


COMPLETION_FUNCTION = r'''_attn_trace_complete_value() {  # kind, the word typed so far
  local kind=$1 cur=$2
  case $kind in
    files) compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- "$cur")) ;;
    stages)  # comma-separated: complete the last one
      local done=""
      [[ $cur == *,* ]] && done=${cur%,*},
      COMPREPLY=($(compgen -P "$done" -W "$_attn_trace_stages" -- "${cur##*,}"))
      compopt -o nospace 2>/dev/null ;;
    words\ *) COMPREPLY=($(compgen -W "${kind#words }" -- "$cur")) ;;
    *) COMPREPLY=() ;;
  esac
}

_attn_trace() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev="" sub="" i kind
  ((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
  for ((i = 1; i < COMP_CWORD; i++)); do
    if [[ " $_attn_trace_subcommands " == *" ${COMP_WORDS[i]} "* ]]; then
      sub=${COMP_WORDS[i]}
      break
    fi
  done
  if [[ $cur == --*=* ]]; then  # --flag=value
    kind=$(_attn_trace_value "$sub" "${cur%%=*}")
    _attn_trace_complete_value "$kind" "${cur#*=}"
    COMPREPLY=("${COMPREPLY[@]/#/${cur%%=*}=}")
    return
  fi
  kind=$(_attn_trace_value "$sub" "$prev")
  if [[ -n $kind ]]; then
    _attn_trace_complete_value "$kind" "$cur"
  elif [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$(_attn_trace_flags "$sub")" -- "$cur"))
  elif [[ -z $sub ]]; then
    COMPREPLY=($(compgen -W "$_attn_trace_subcommands" -- "$cur"))
  elif [[ $sub == run || $sub == explain || $sub == check ]]; then  # MINE, FILE: a file or an example
    compopt -o filenames 2>/dev/null
    COMPREPLY=($(compgen -W "$_attn_trace_examples" -- "$cur") $(compgen -f -- "$cur"))
  else
    COMPREPLY=()
  fi
}
# Nothing to offer (a number, a size): bash completes file names, as for any command.
complete -o default -F _attn_trace attn-trace'''


def main():
    binary, out_dir, version = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
    top = parse_help(run(binary, "--help"))
    subs = {spec.split()[0]: parse_help(run(binary, spec.split()[0], "--help"))
            for spec, _ in top[2]["Subcommands"]}
    stages_line = next(d for s, d in subs["run"][2]["Options"] if s.startswith("--stages "))
    stages = stages_line.rpartition(": ")[2].split(", ")
    examples = [line.split()[0] for line in run(binary, "examples").split("\n\n")[0].splitlines()]
    top_flags = [n for spec, _ in top[2]["Options"] for n in option_names(spec)[0]
                 if n.startswith("--")]
    # A layout this script no longer reads would leave the page or the completion short.
    if len(subs) < 4 or len(stages) < 8 or len(examples) < 3 or not all(
            re.fullmatch(r"[a-z_]+", s) for s in stages):
        sys.exit(f"cli_docs.py: cannot read the help of {binary}: subcommands {list(subs)}, "
                 f"stages {stages}, examples {examples}")
    out_dir.mkdir(parents=True, exist_ok=True)
    page = man_page(binary, version, top, subs)
    (out_dir / "attn-trace.1").write_text(page)
    # mtime 0 and no file name: the same page gives the same bytes (a reproducible package).
    with open(out_dir / "attn-trace.1.gz", "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", compresslevel=9, fileobj=raw, mtime=0) as out:
            out.write(page.encode())
    (out_dir / "attn-trace.bash").write_text(completion(subs, top_flags, stages, examples))


if __name__ == "__main__":
    main()
