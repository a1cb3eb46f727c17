"""HTTP GET and POST (httpx) that refuse, by default, every address that is not public: loopback, private,
link-local, multicast, reserved. The host is resolved and every address checked, on each redirect too.

`allow`: hosts or networks exempt from that check ("localhost", "10.0.0.0/8"). `hosts`: when given, the only
hosts the tools may reach ("api.example.com", "*.example.org"). Known gap: the check resolves the name, then
httpx resolves it again to connect, so a DNS server that answers differently the second time is not caught."""

from __future__ import annotations

import ipaddress
import json as jsonlib
import socket
from collections.abc import Sequence
from fnmatch import fnmatch
from typing import Any

import anyio
import httpx
from typing_extensions import TypedDict

from f1.tools.builtin._common import with_examples
from f1.tools.errors import ToolCallError
from f1.tools.registry import Tool, tool

MAX_REDIRECTS = 5
_TEXTUAL = ("text/", "application/json", "application/xml", "application/javascript", "+json", "+xml")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class HttpResponse(TypedDict):
    url: str
    status: int
    content_type: str
    body: Any
    truncated: bool


class AddressGuard:
    """Decides whether a URL may be fetched: scheme, host allow-list, and the addresses its host resolves to."""

    def __init__(self, allow: Sequence[str] = (), hosts: Sequence[str] | None = None) -> None:
        self.networks: list[IPNetwork] = []
        self.names: set[str] = set()
        for item in allow:
            try:
                self.networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                self.names.add(item.casefold())
        self.hosts = [host.casefold() for host in hosts] if hosts is not None else None

    async def check(self, url: httpx.URL, tool_name: str) -> None:
        """Raise `ToolCallError` unless `url` may be fetched."""
        if url.scheme not in ("http", "https"):
            raise ToolCallError(f"only http and https URLs, not {url.scheme!r}", tool=tool_name)
        host = url.host.casefold()
        if not host:
            raise ToolCallError(f"no host in {str(url)!r}", tool=tool_name)
        if self.hosts is not None and not any(fnmatch(host, pattern) for pattern in self.hosts):
            raise ToolCallError(f"host {host!r} is not in the allow-list", tool=tool_name)
        if host in self.names:
            return
        for address in await _addresses(host, url.port or (443 if url.scheme == "https" else 80), tool_name):
            if not _public(address) and not any(address in network for network in self.networks):
                raise ToolCallError(
                    f"refused: {host!r} resolves to the non-public address {address} "
                    "(loopback, private, link-local and reserved addresses need an explicit allow)",
                    tool=tool_name,
                )


async def _addresses(host: str, port: int, tool_name: str) -> list[IPAddress]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise ToolCallError(f"cannot resolve {host!r}: {exc}", tool=tool_name) from None
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]


def _public(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def http_tools(
    *,
    allow: Sequence[str] = (),
    hosts: Sequence[str] | None = None,
    timeout: float = 15.0,
    max_bytes: int = 200_000,
    transport: httpx.AsyncBaseTransport | None = None,
) -> list[Tool]:
    """`http_get` and `http_post`, guarded by an `AddressGuard(allow, hosts)`; `transport` is for tests."""
    guard = AddressGuard(allow, hosts)

    async def fetch(tool_name: str, method: str, url: str, **request: Any) -> HttpResponse:
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=False, transport=transport) as client:
            try:
                target = httpx.URL(url)
            except httpx.InvalidURL as exc:
                raise ToolCallError(f"bad URL {url!r}: {exc}", tool=tool_name) from None
            for _ in range(MAX_REDIRECTS + 1):
                await guard.check(target, tool_name)
                try:
                    async with client.stream(method, target, **request) as response:
                        if not response.has_redirect_location:
                            return await _read(response, max_bytes)
                        target = response.url.join(response.headers["location"])
                except httpx.HTTPError as exc:
                    raise ToolCallError(f"{type(exc).__name__}: {exc}", tool=tool_name) from None
                if response.status_code in (301, 302, 303) and method == "POST":
                    method, request = "GET", {key: value for key, value in request.items() if key != "json"}
            raise ToolCallError(f"more than {MAX_REDIRECTS} redirects", tool=tool_name)

    @with_examples({"url": "https://example.com"}, {"url": "https://httpbin.org/get", "params": {"q": "f1"}})
    @tool(idempotent=True, timeout=timeout + 5)
    async def http_get(url: str, params: dict[str, str] | None = None, headers: dict[str, str] | None = None) -> HttpResponse:
        """Fetch a public web URL with HTTP GET. The body is parsed JSON for JSON responses, else text
        (long bodies are cut; truncated tells).

        Args:
            url: the http(s) URL.
            params: query parameters to add to the URL.
            headers: extra request headers.
        """
        return await fetch("http_get", "GET", url, params=params, headers=headers)

    @with_examples({"url": "https://httpbin.org/post", "body": {"name": "f1"}})
    @tool(timeout=timeout + 5)
    async def http_post(url: str, body: Any = None, headers: dict[str, str] | None = None) -> HttpResponse:
        """Send a JSON body to a public web URL with HTTP POST and return the response.

        Args:
            url: the http(s) URL.
            body: the JSON body to send.
            headers: extra request headers.
        """
        return await fetch("http_post", "POST", url, json=body, headers=headers)

    return [http_get, http_post]


async def _read(response: httpx.Response, max_bytes: int) -> HttpResponse:
    chunks: list[bytes] = []
    size = 0
    truncated = False
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size > max_bytes:
            truncated = True
            break
    raw = b"".join(chunks)[:max_bytes]
    content_type = response.headers.get("content-type", "")
    body: Any = raw.decode(response.encoding or "utf-8", errors="replace")
    if "json" in content_type and not truncated:
        try:
            body = jsonlib.loads(raw)
        except ValueError:
            pass
    elif raw and not any(marker in content_type for marker in _TEXTUAL) and b"\x00" in raw[:1024]:
        body = f"<{len(raw)} bytes of {content_type or 'binary data'}>"
    return HttpResponse(url=str(response.url), status=response.status_code, content_type=content_type, body=body, truncated=truncated)
