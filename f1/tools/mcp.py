"""`MCPSource`: the tools of an MCP server (the `mcp` SDK's `Client`, over stdio or streamable HTTP).

The session lives as long as the source's `async with` block; its tools work only inside it:

    async with MCPSource.stdio("python", ["server.py"]) as source:
        tools = await source.load()

A tool's result is the server's structured content when it sends one, else its content: one text item (parsed
as JSON when it is JSON) or a list of items. A result flagged `isError` raises `ToolCallError`. A stdio server's
stderr goes to the `f1.tools.mcp` log (INFO), line by line, never to the terminal."""

from __future__ import annotations

import json
import logging
import os
import re
import threading
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from f1.errors import ToolCallError, ToolSourceError, ToolSpecError
from f1.tools.registry import Tool, ToolPolicy
from f1.tools.spec import EMPTY_PARAMETERS, ToolSpec, validation_message

if TYPE_CHECKING:
    from mcp import Client

_MAX_PAGES = 100
log = logging.getLogger("f1.tools.mcp")


class MCPSource:
    """Tools of one MCP server. `server`: what `mcp.Client` accepts (a URL, `StdioServerParameters`, a
    `Transport`, or an in-process `MCPServer`). `prefix` is put before every tool name."""

    def __init__(self, server: Any, *, prefix: str = "", timeout: float | None = 60.0) -> None:
        self.server = server
        self.prefix = prefix
        self.timeout = timeout
        self._client: Client | None = None
        self._stderr: StderrLog | None = None

    @classmethod
    def stdio(
        cls,
        command: str,
        args: Sequence[str] = (),
        *,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
        **options: Any,
    ) -> MCPSource:
        """A server started as a subprocess, spoken to over its stdin and stdout; its stderr goes to the log."""
        from mcp import StdioServerParameters
        from mcp.client.stdio import stdio_client

        parameters = StdioServerParameters(command=command, args=list(args), env=dict(env) if env else None, cwd=cwd)
        stderr = StderrLog(os.path.basename(command))
        source = cls(stdio_client(parameters, errlog=stderr.file), **options)
        source._stderr = stderr
        return source

    @classmethod
    def http(cls, url: str, *, headers: Mapping[str, str] | None = None, **options: Any) -> MCPSource:
        """A server at a streamable-HTTP URL (e.g. http://127.0.0.1:8000/mcp)."""
        if not headers:
            return cls(url, **options)
        import httpx2
        from mcp.client.streamable_http import streamable_http_client

        return cls(streamable_http_client(url, http_client=httpx2.AsyncClient(headers=dict(headers))), **options)

    async def __aenter__(self) -> MCPSource:
        from mcp import Client

        client = Client(self.server, read_timeout_seconds=self.timeout)
        try:
            await client.__aenter__()
        except Exception as exc:
            if self._stderr is not None:
                self._stderr.close()
            raise ToolSourceError(f"cannot connect to the MCP server: {type(exc).__name__}: {exc}") from exc
        self._client = client
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        client, self._client = self._client, None
        try:
            if client is not None:
                await client.__aexit__(exc_type, exc, traceback)
        finally:
            if self._stderr is not None:
                self._stderr.close()

    async def load(self) -> list[Tool]:
        """List the server's tools (every page) and wrap each as a `Tool`."""
        client = self._connected()
        tools: list[Tool] = []
        cursor: str | None = None
        for _ in range(_MAX_PAGES):
            page = await client.list_tools(cursor=cursor)
            tools += [self._tool(item) for item in page.tools]
            cursor = page.next_cursor
            if cursor is None:
                break
        return tools

    def _connected(self) -> Client:
        if self._client is None:
            raise ToolSourceError("the MCP source is not connected: use it inside `async with source:`")
        return self._client

    def _tool(self, item: Any) -> Tool:
        name = _tool_name(self.prefix + item.name)
        parameters = dict(item.input_schema or EMPTY_PARAMETERS)
        parameters.setdefault("type", "object")
        try:
            spec = ToolSpec(
                name=name,
                description=item.description or item.title or "",
                parameters=parameters,
                result_schema=item.output_schema,
            )
        except ValidationError as exc:  # e.g. inputSchema keys that are no JSON Schema (inputs it would drop)
            source = f"MCP server {self.server}" if isinstance(self.server, str) else "MCP server"
            raise ToolSpecError(validation_message(exc), tool=item.name, source=source) from None
        read_only = bool(item.annotations and item.annotations.read_only_hint)
        idempotent = read_only or bool(item.annotations and item.annotations.idempotent_hint)

        async def call(**arguments: Any) -> Any:
            result = await self._connected().call_tool(item.name, arguments)
            if result.is_error:
                raise ToolCallError(_text(result.content) or "the MCP tool reported an error", tool=name)
            if result.structured_content is not None:
                return result.structured_content
            return _content(result.content)

        return Tool(spec, call, ToolPolicy(timeout=self.timeout, idempotent=idempotent, read_only=read_only))


class StderrLog:
    """A pipe for a server's stderr: each line it writes is logged (INFO, `f1.tools.mcp`, after the server's name)
    by a daemon thread until the pipe closes (`close`, and the server's exit)."""

    def __init__(self, name: str) -> None:
        read_end, write_end = os.pipe()
        self.file = os.fdopen(write_end, "w")
        reader = os.fdopen(read_end, "r", errors="replace")
        threading.Thread(target=self._pump, args=(reader, name), name=f"mcp-stderr-{name}", daemon=True).start()

    @staticmethod
    def _pump(reader: Any, name: str) -> None:
        with reader:
            for line in reader:
                log.info("%s: %s", name, line.rstrip())

    def close(self) -> None:
        self.file.close()


def _content(items: Sequence[Any]) -> Any:
    if len(items) == 1 and getattr(items[0], "type", None) == "text":
        text = items[0].text
        try:
            return json.loads(text)
        except ValueError:
            return text
    return [item.model_dump(mode="json", by_alias=True, exclude_none=True) for item in items]


def _text(items: Sequence[Any]) -> str:
    return "\n".join(item.text for item in items if getattr(item, "type", None) == "text")


def _tool_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.\-]+", "_", text)[:128]
