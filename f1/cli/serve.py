"""`f1 serve`: the OpenAI-compatible endpoint at /v1 (model mode, and compound mode with --tools)."""

from __future__ import annotations

import argparse
import os
import sys

from f1.errors import F1Error


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("serve", help="serve the OpenAI-compatible API at /v1")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: loopback only)")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--model", default="default", help="default | a model name | a path | openai:BASE_URL#MODEL")
    parser.add_argument("--tools", default=None, help="server-side tools for compound mode (a catalog REF, as `f1 run --tools`)")
    parser.add_argument("--compound-name", default="f1-compound", help="model name that selects compound mode")
    parser.add_argument(
        "--api-key", default=os.environ.get("F1_SERVER_API_KEY"),
        help="require 'Authorization: Bearer KEY' on /v1 (default: $F1_SERVER_API_KEY)",
    )
    parser.add_argument("--max-body-bytes", type=int, default=4 * 1024 * 1024, help="largest request body accepted")
    parser.set_defaults(handler=serve)


def serve(args: argparse.Namespace) -> int:
    try:
        import uvicorn
    except ImportError:
        raise F1Error("f1 serve needs the server extra: pip install 'f1[server]'") from None
    import anyio

    from f1.engine import Engine
    from f1.server import ServerSettings, create_app

    if args.max_body_bytes < 1:
        raise F1Error(f"--max-body-bytes must be positive, not {args.max_body_bytes}")
    if args.tools:
        from f1.tools.catalog import load_tools

        engine = Engine(load_tools(args.tools), model=args.model)
        if not engine.registry:
            raise F1Error(f"--tools {args.tools!r} has specs but no implementations: compound mode needs runnable tools")
        if len(engine.registry) < len(engine.specs):
            missing = sorted(set(engine.specs) - set(engine.registry))
            raise F1Error(f"--tools {args.tools!r}: no implementation for {', '.join(missing)}")
    else:
        engine = Engine(model=args.model)
    settings = ServerSettings(
        model_names=(args.model,),
        compound_name=args.compound_name if args.tools else None,
        api_key=args.api_key,
        max_body_bytes=args.max_body_bytes,
    )
    app = create_app(engine, settings)
    load = getattr(engine.model, "loaded", None)  # local models load lazily; load now, before the port opens
    if load is not None:
        print(f"f1 serve: loading {engine.model.name} ...", file=sys.stderr)
        anyio.run(load)
    print(f"f1 serve: http://{args.host}:{args.port}/v1 serving {', '.join(app.state.served)}", file=sys.stderr)
    uvicorn.run(app, host=args.host, port=args.port, log_level="info" if args.verbose else "warning")
    return 0
