"""A tiny MCP server for the tests (mcp's MCPServer, formerly FastMCP), over stdio or streamable HTTP."""

from __future__ import annotations

import sys

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

server = MCPServer("f1-test", log_level="ERROR")


@server.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@server.tool()
def lookup(city: str) -> dict[str, str]:
    """The country of a city."""
    countries = {"Paris": "France", "Tokyo": "Japan"}
    if city not in countries:
        raise ToolError(f"unknown city {city}")
    return {"city": city, "country": countries[city]}


@server.tool(structured_output=False)
def shout(text: str) -> str:
    """Upper-case a text."""
    return text.upper()


@server.tool()
async def sleep(seconds: float) -> str:
    """Sleep, then say so."""
    await anyio.sleep(seconds)
    return "awake"


if __name__ == "__main__":
    server.run(sys.argv[1] if len(sys.argv) > 1 else "stdio")
