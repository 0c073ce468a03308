"""``dockerarch rules``: list every installed rule."""

from __future__ import annotations

import argparse
import json
import sys


def add_parser(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("rules", help="list the rules", description="List the rules.")
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format")
    return parser


def run(args: argparse.Namespace) -> int:
    from dockerarch.engine import load_rules

    rules = load_rules()
    if args.format == "json":
        data = [
            {
                "code": r.code,
                "name": r.name,
                "summary": r.summary,
                "category": r.category,
                "severity": r.severity.value,
                "fixable": r.fixable,
                "url": r.url,
            }
            for r in rules
        ]
        sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
        return 0
    rows = [("CODE", "NAME", "CATEGORY", "FIXABLE")]
    rows += [(r.code, r.name, r.category, "yes" if r.fixable else "no") for r in rules]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        cells = [cell.ljust(w) for cell, w in zip(row, widths, strict=False)] + [row[3]]
        sys.stdout.write("  ".join(cells) + "\n")
    return 0
