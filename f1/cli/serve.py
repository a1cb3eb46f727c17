"""`f1 serve`: the OpenAI-compatible endpoint at /v1 (model mode, and compound mode with --tools)."""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import socket
import sys

from f1.cli import DefaultsHelp, bounded_int
from f1.cli.run import TOOLS_HELP
from f1.errors import ConfigError, StartupError

API_KEY_ENV = "F1_SERVER_API_KEY"
LOG_LEVELS = ("debug", "info", "warning", "error")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("serve", help="serve the OpenAI-compatible API at /v1", formatter_class=DefaultsHelp)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (loopback: this machine only)")
    parser.add_argument("--port", type=bounded_int(0, 65535), default=8000, help="port to listen on (0: any free one)")
    parser.add_argument("--model", default="default", help="default | a model name | a path | openai:BASE_URL#MODEL")
    parser.add_argument("--tools", default=None, help=f"server-side tools for compound mode: {TOOLS_HELP}")
    parser.add_argument("--compound-name", default="f1-compound", help="model name that selects compound mode")
    parser.add_argument(
        "--max-tools", type=bounded_int(1), default=16, help="tools the planner is shown; retrieval picks them from more"
    )
    parser.add_argument(
        "--api-key", default=None, help=f"require 'Authorization: Bearer KEY' on /v1 (default: ${API_KEY_ENV} if set)"
    )
    parser.add_argument(
        "--no-auth", action="store_true", help="serve a non-loopback --host without an API key (anyone may use it)"
    )
    parser.add_argument(
        "--cors-origin", action="append", default=[], metavar="ORIGIN",
        help="let web pages of ORIGIN (scheme://host[:port]) call the API; repeatable (default: web pages are refused)",
    )
    parser.add_argument(
        "--allow-write-tools", action="store_true",
        help="compound mode may run tools that are not read-only (writes, POSTs); by default they are not served",
    )
    parser.add_argument("--max-body-bytes", type=bounded_int(1), default=4 * 1024 * 1024, help="largest request body accepted")
    parser.add_argument("--body-timeout", type=float, default=30.0, help="seconds a request body may take to arrive")
    parser.add_argument(
        "--store", default=None, metavar="PATH",
        help="SQLite file of stored responses, for previous_response_id (default: $F1_CACHE_DIR/responses.sqlite)",
    )
    parser.add_argument(
        "--log-level", choices=LOG_LEVELS, default="info", help="server log level; info logs a line per request"
    )
    parser.set_defaults(handler=serve)


def serve(args: argparse.Namespace) -> int:
    try:
        import uvicorn
    except ImportError:
        raise ConfigError("f1 serve needs the server extra: pip install 'f1[server]'") from None
    from f1.engine import Engine, EngineConfig
    from f1.server import ServerSettings, create_app
    from f1.server.errors import redact
    from f1.server.memory import limit_malloc_arenas

    api_key = args.api_key or os.environ.get(API_KEY_ENV) or None
    if api_key and args.no_auth:
        raise ConfigError(f"--no-auth and an API key (--api-key or ${API_KEY_ENV}) contradict each other: pick one")
    if not api_key and not args.no_auth and not is_loopback(args.host):
        raise ConfigError(
            f"--host {args.host} is reachable from other machines: set --api-key (or ${API_KEY_ENV}), "
            "or pass --no-auth to serve it without one"
        )
    check_listenable(args.host, args.port)
    settings = ServerSettings(
        model_names=(args.model,) if redact(args.model) == args.model else (),  # never show a URL's password
        compound_name=args.compound_name if args.tools else None,
        api_key=api_key,
        max_body_bytes=args.max_body_bytes,
        cors_origins=tuple(args.cors_origin),
        allow_write_tools=args.allow_write_tools,
        body_timeout=args.body_timeout,
        store_path=args.store,
    )
    logging.getLogger("f1").setLevel(args.log_level.upper())
    config = EngineConfig(max_tools_in_prompt=args.max_tools)
    if args.tools:
        from f1.tools.catalog import load_tools

        engine = Engine(load_tools(args.tools), model=args.model, config=config)
        if not engine.registry:
            raise ConfigError(f"--tools {args.tools!r} has specs but no implementations: compound mode needs runnable tools")
        if len(engine.registry) < len(engine.specs):
            missing = sorted(set(engine.specs) - set(engine.registry))
            raise ConfigError(f"--tools {args.tools!r}: no implementation for {', '.join(missing)}")
    else:
        engine = Engine(model=args.model, config=config)
    app = create_app(engine, settings)
    if app.state.withheld_tools:
        if len(app.state.withheld_tools) == len(engine.registry):
            raise ConfigError(f"--tools {args.tools!r}: every tool may write; pass --allow-write-tools to serve them")
        withheld = ", ".join(app.state.withheld_tools)
        print(f"f1 serve: not serving {withheld} (tools that may write need --allow-write-tools)", file=sys.stderr)
    # the app's lifespan loads the model before the port opens
    print(f"f1 serve: http://{args.host}:{args.port}/v1 serving {', '.join(app.state.served)}", file=sys.stderr)
    # f1's access log (a line per request, with the model and its tools) replaces uvicorn's
    limit_malloc_arenas()  # a long-running server: memory must not grow with its thread pool (f1/server/memory.py)
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level, access_log=False)
    return 0


def is_loopback(host: str) -> bool:
    """Whether `host` is reachable from this machine only: localhost or a loopback address (names are not resolved)."""
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_listenable(host: str, port: int) -> None:
    """Refuse, before any model loads, an address the server could not listen on (taken, not local, unknown)."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError as exc:
        raise StartupError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
