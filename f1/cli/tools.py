"""`f1 tools list|search|show|validate|export`: look into a tool set (`--tools REF`, default builtin)."""

from __future__ import annotations

import argparse
import difflib
import json
import re
from pathlib import Path

from f1.cli import DefaultsHelp, bounded_int
from f1.cli.run import TOOLS_HELP
from f1.errors import ConfigError, ToolSpecError
from f1.schemas import schema_validator
from f1.tools.catalog import SPECS_DIR, export_specs, load_tools, specs_of
from f1.tools.spec import ToolSpec


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("tools", formatter_class=DefaultsHelp, help="list, search, show or validate tools")
    commands = parser.add_subparsers(dest="tools_command", metavar="ACTION", required=True)

    def tool_set(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "--tools",
            default="builtin",
            metavar="REF",
            help=TOOLS_HELP,
        )

    listing = commands.add_parser("list", formatter_class=DefaultsHelp, help="one line per tool")
    tool_set(listing)
    listing.add_argument("--json", action="store_true", help="print the specs as JSON")
    listing.set_defaults(handler=_list)

    search = commands.add_parser("search", formatter_class=DefaultsHelp, help="the tools the planner would retrieve for a query")
    tool_set(search)
    search.add_argument("query")
    search.add_argument("-k", type=bounded_int(1), default=5, help="how many tools")
    search.set_defaults(handler=_search)

    show = commands.add_parser("show", formatter_class=DefaultsHelp, help="one tool's full spec")
    tool_set(show)
    show.add_argument("name")
    show.add_argument("--format", choices=("f1", "openai", "bfcl"), default="f1", help="spec format")
    show.set_defaults(handler=_show)

    validate = commands.add_parser("validate", formatter_class=DefaultsHelp, help="check a spec file or folder (or a tools module)")
    validate.add_argument("path", help="a JSON/JSONL/YAML spec file, a folder of them, or a Python tools file")
    validate.set_defaults(handler=_validate)

    export = commands.add_parser("export", formatter_class=DefaultsHelp, help="regenerate the shipped spec files (tool_specs/)")
    export.add_argument("--out", type=Path, default=SPECS_DIR, help="folder")
    export.set_defaults(handler=_export)


def _specs(ref: str) -> list[ToolSpec]:
    return specs_of(load_tools(ref))


def _list(args: argparse.Namespace) -> int:
    specs = _specs(args.tools)
    if args.json:
        print(json.dumps([spec.model_dump(mode="json") for spec in specs], indent=2, ensure_ascii=False))
        return 0
    _print_rows(specs)
    print(f"{len(specs)} tools")
    return 0


def _search(args: argparse.Namespace) -> int:
    from f1.planner import retriever_for

    _print_rows(retriever_for(_specs(args.tools), persist=True).search(args.query, args.k))  # a named catalogue
    return 0


def _show(args: argparse.Namespace) -> int:
    specs = {spec.name: spec for spec in _specs(args.tools)}
    spec = specs.get(args.name)
    if spec is None:
        close = difflib.get_close_matches(args.name, list(specs), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise ConfigError(f"no tool named {args.name!r} in {args.tools!r}{hint}")
    data = {"f1": spec.model_dump(mode="json"), "openai": spec.to_openai(), "bfcl": spec.to_bfcl()}[args.format]
    print(json.dumps(data, indent=2, ensure_ascii=False))
    return 0


def _validate(args: argparse.Namespace) -> int:
    specs = _specs(args.path)  # a malformed spec raises ToolSpecError naming the file and the tool
    problems = [
        f"{spec.name}: example {index}: {error.message}"
        for spec in specs
        for index, example in enumerate(spec.examples)
        for error in schema_validator(spec.parameters).iter_errors(example)
    ]
    if problems:
        raise ToolSpecError(f"{len(problems)} problem(s):\n  " + "\n  ".join(problems), source=args.path)
    examples = sum(len(spec.examples) for spec in specs)
    print(f"{args.path}: {len(specs)} valid tool specs, {examples} examples")
    return 0


def _export(args: argparse.Namespace) -> int:
    for path in export_specs(args.out):
        print(path)
    return 0


_SENTENCE_END = re.compile(r"(?<=[A-Za-z0-9)\]])\.\s+(?=[A-Z])")


def _print_rows(specs: list[ToolSpec]) -> None:
    width = max((len(spec.name) for spec in specs), default=0)
    for spec in specs:
        description = spec.description.partition("Tool description: ")[2] or spec.description  # BFCL's preamble
        summary = _SENTENCE_END.split(description.strip(), maxsplit=1)[0]
        print(f"{spec.name:<{width}}  {summary if len(summary) <= 100 else summary[:99] + '…'}")
