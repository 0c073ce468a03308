"""``dockerarch explain CODE``: a rule's summary and documentation."""

from __future__ import annotations

import argparse
import sys

from dockerarch.commands._common import error


def add_parser(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "explain", help="explain a rule", description="Show a rule's documentation."
    )
    parser.add_argument("rule", metavar="CODE", help="rule code (DA101) or name")
    return parser


def run(args: argparse.Namespace) -> int:
    from dockerarch.engine import load_rules, rule_by_code

    found = rule_by_code(args.rule)
    if found is None:
        found = next((r for r in load_rules() if r.name == args.rule.lower()), None)
    if found is None:
        error(None, f"unknown rule '{args.rule}' (`dockerarch rules` lists them)")
        return 2
    fix = "fixable" if found.fixable else "not fixable"
    sys.stdout.write(
        f"{found.code} ({found.name})\n\n{found.summary}\n\n"
        f"Category: {found.category}. Severity: {found.severity.value}. {fix.capitalize()}.\n"
        f"{found.url}\n\n{found.docs}\n"
    )
    return 0
