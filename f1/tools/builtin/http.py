"""HTTP GET and POST (httpx) that refuse, by default, every address that is not public: loopback, private,
link-local, multicast, reserved. The host is resolved and every address checked, on each redirect too.

An IPv6 address that carries an IPv4 address (IPv4-mapped, -compatible or -translated, NAT64 64:ff9b::/96, 6to4,
Teredo) is judged by the IPv4 address it carries; the local-use NAT64 prefix 64:ff9b:1::/48 is never public.

`allow`: hosts or networks exempt from that check ("localhost", "10.0.0.0/8"). `hosts`: when given, the only
hosts the tools may reach ("api.example.com", "*.example.org"). Known gap: the check resolves the name, then
httpx resolves it again to connect, so a DNS server that answers differently the second time is not caught.

A call is bounded: `timeout` covers the whole call (redirects and a slowly dripping body included), and at most
`max_bytes` of the body are read and decoded (gzip and deflate bodies are inflated only that far, so a
compression bomb costs nothing)."""

from __future__ import annotations

import ipaddress
import json as jsonlib
import socket
import zlib
from collections.abc import Sequence
from fnmatch import fnmatch
from typing import Any

import anyio
import httpx

from f1.errors import ToolCallError
from f1.tools.builtin._common import MAX_RESULT_BYTES, Capped, marker, with_examples
from f1.tools.registry import Tool, tool

MAX_REDIRECTS = 5
_INFLATE_BITS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}
_TEXTUAL = ("text/", "application/json", "application/xml", "application/javascript", "+json", "+xml")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# IPv6 prefixes whose last 32 bits are an IPv4 address (mapped ::ffff:0:0/96 has its own property)
_CARRY_IPV4_IN_LOW_BITS = tuple(
    ipaddress.IPv6Network(prefix)
    for prefix in ("::/96", "::ffff:0:0:0/96", "64:ff9b::/96")  # compatible, translated (SIIT), NAT64
)
_LOCAL_NAT64 = ipaddress.IPv6Network("64:ff9b:1::/48")  # RFC 8215: the IPv4 address may sit anywhere


class HttpResponse(Capped):
    url: str
    status: int
    content_type: str
    body: Any


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
    """Whether `address` is public; an IPv6 address carrying IPv4 addresses is public when they all are."""
    if isinstance(address, ipaddress.IPv6Address):
        if address in _LOCAL_NAT64:
            return False
        carried = _carried_ipv4(address)
        if carried:
            return all(_public(inner) for inner in carried)
    return address.is_global and not address.is_multicast


def _carried_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses inside an IPv6 address: mapped, compatible, translated, NAT64, 6to4, Teredo."""
    if address.ipv4_mapped is not None:
        return [address.ipv4_mapped]
    if address.sixtofour is not None:
        return [address.sixtofour]
    if address.teredo is not None:
        return list(address.teredo)  # the Teredo server and the client
    if any(address in prefix for prefix in _CARRY_IPV4_IN_LOW_BITS):
        return [ipaddress.IPv4Address(int(address) & 0xFFFF_FFFF)]
    return []


def http_tools(
    *,
    allow: Sequence[str] = (),
    hosts: Sequence[str] | None = None,
    timeout: float = 15.0,
    max_bytes: int = MAX_RESULT_BYTES,
    transport: httpx.AsyncBaseTransport | None = None,
) -> list[Tool]:
    """`http_get` and `http_post`, guarded by an `AddressGuard(allow, hosts)`; `transport` is for tests.
    `timeout` bounds a whole call, `max_bytes` the body read."""
    guard = AddressGuard(allow, hosts)

    async def fetch(tool_name: str, method: str, url: str, **request: Any) -> HttpResponse:
        try:
            with anyio.fail_after(timeout):
                return await follow(tool_name, method, url, **request)
        except TimeoutError:
            raise ToolCallError(f"no complete response within {timeout:g} s", tool=tool_name) from None

    async def follow(tool_name: str, method: str, url: str, **request: Any) -> HttpResponse:
        async with httpx.AsyncClient(
            timeout=timeout, follow_redirects=False, transport=transport, headers={"accept-encoding": "gzip, deflate"}
        ) as client:
            try:
                target = httpx.URL(url)
            except httpx.InvalidURL as exc:
                raise ToolCallError(f"bad URL {url!r}: {exc}", tool=tool_name) from None
            for _ in range(MAX_REDIRECTS + 1):
                await guard.check(target, tool_name)
                try:
                    async with client.stream(method, target, **request) as response:
                        if not response.has_redirect_location:
                            return await _read(response, max_bytes, tool_name)
                        target = response.url.join(response.headers["location"])
                except httpx.HTTPError as exc:
                    raise ToolCallError(f"{type(exc).__name__}: {exc}", tool=tool_name) from None
                if response.status_code in (301, 302, 303) and method == "POST":
                    method, request = "GET", {key: value for key, value in request.items() if key != "json"}
            raise ToolCallError(f"more than {MAX_REDIRECTS} redirects", tool=tool_name)

    @with_examples({"url": "https://example.com"}, {"url": "https://httpbin.org/get", "params": {"q": "f1"}})
    @tool(idempotent=True, read_only=True, timeout=timeout + 5)
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


async def _read(response: httpx.Response, max_bytes: int, tool_name: str) -> HttpResponse:
    raw, truncated = await _body(response, max_bytes, tool_name)
    content_type = response.headers.get("content-type", "")
    body: Any = raw.decode(response.encoding or "utf-8", errors="replace")
    if "json" in content_type and not truncated:
        try:
            body = jsonlib.loads(raw)
        except ValueError:
            pass
    elif raw and not any(kind in content_type for kind in _TEXTUAL) and b"\x00" in raw[:1024]:
        body = f"<{len(raw)} bytes of {content_type or 'binary data'}>"
    cut = f"the body was cut at {max_bytes:,} bytes (the result cap)" if truncated else ""
    return HttpResponse(
        url=str(response.url),
        status=response.status_code,
        content_type=content_type,
        body=body,
        **marker(cut, truncated=truncated),
    )


async def _body(response: httpx.Response, max_bytes: int, tool_name: str) -> tuple[bytes, bool]:
    """At most `max_bytes` of the decoded body, and whether there was more. gzip and deflate are inflated only as
    far as needed; other encodings are passed on as they came."""
    if response.is_stream_consumed:  # a transport that read the body already (a test's MockTransport)
        return response.content[:max_bytes], len(response.content) > max_bytes
    encoding = response.headers.get("content-encoding", "").strip().casefold()
    inflater = zlib.decompressobj(_INFLATE_BITS[encoding]) if encoding in _INFLATE_BITS else None
    parts: list[bytes] = []
    size = 0
    async for chunk in response.aiter_raw():
        if inflater is not None:
            try:
                chunk = inflater.decompress(chunk, max_bytes + 1 - size)  # never 0 (unlimited): size <= max_bytes
            except zlib.error as exc:
                raise ToolCallError(f"cannot decode the {encoding} body: {exc}", tool=tool_name) from None
        parts.append(chunk)
        size += len(chunk)
        if size > max_bytes:
            return b"".join(parts)[:max_bytes], True
    return b"".join(parts), False
