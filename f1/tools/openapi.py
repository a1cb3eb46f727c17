"""`OpenAPISource`: every operation of an OpenAPI 3 document as a tool, called over `httpx.AsyncClient`.

A tool's arguments are the operation's path, query, header and cookie parameters plus `body` (the JSON request
body). Its name is the operationId, or `method_path`. A non-2xx answer raises `ToolCallError` with the status and
the start of the body. Local `$ref`s (`#/components/...`) are inlined; a reference cycle becomes an open schema.
An input the tool could not send (a malformed parameter, a body with no JSON media type) is a `ToolSpecError`
naming the operation and the key, never a silently narrower tool."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import ValidationError

from f1.errors import ToolCallError, ToolSpecError
from f1.tools.registry import Tool, ToolPolicy
from f1.tools.spec import ToolSpec, refuse_unread_keys, validation_message

METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
IDEMPOTENT = frozenset({"get", "put", "delete", "head", "options"})
READ_ONLY = frozenset({"get", "head", "options"})  # HTTP's safe methods
_PARAMETER_PLACES = ("path", "query", "header", "cookie")
_OPERATION_KEYS = frozenset(
    {"tags", "summary", "description", "externalDocs", "operationId", "parameters", "requestBody", "responses"}
    | {"callbacks", "deprecated", "security", "servers"}
)
_BODY_EXCERPT = 500


class OpenAPISource:
    """Tools from an OpenAPI 3 document: a mapping, a file path, or an http(s) URL to fetch."""

    def __init__(
        self,
        document: Mapping[str, Any] | str | Path,
        *,
        base_url: str | None = None,
        client: httpx.AsyncClient | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.document = document
        self.base_url = base_url
        self.client = client
        self.headers = dict(headers or {})
        self.timeout = timeout

    async def load(self) -> list[Tool]:
        """Read the document (fetching it if it is a URL) and make one tool per operation."""
        document, location = await self._document()
        if not str(document.get("openapi", "")).startswith("3"):
            raise ToolSpecError("not an OpenAPI 3 document (no 'openapi: 3.x' field)", source=location)
        base = self.base_url or _server_url(document, location)
        tools: list[Tool] = []
        seen: set[str] = set()
        resolver = _Resolver(document, location)
        for path, item in (document.get("paths") or {}).items():
            item = resolver.resolve(item)
            for method in METHODS:
                if method in item:
                    operation = Operation(path, method, item, base, location)
                    if operation.name in seen:
                        raise ToolSpecError("two operations share this name", tool=operation.name, source=location)
                    seen.add(operation.name)
                    tools.append(Tool(operation.spec, self._caller(operation), self._policy(method)))
        return tools

    def _policy(self, method: str) -> ToolPolicy:
        idempotent = method in IDEMPOTENT
        return ToolPolicy(
            timeout=self.timeout + 5, idempotent=idempotent, read_only=method in READ_ONLY, retries=1 if idempotent else 0
        )

    def _caller(self, operation: Operation) -> Any:
        async def call(**arguments: Any) -> Any:
            request = operation.request(arguments)
            headers = {**self.headers, **request.pop("headers")}
            try:
                if self.client is not None:
                    response = await self.client.request(**request, headers=headers, timeout=self.timeout)
                else:
                    async with httpx.AsyncClient(timeout=self.timeout) as client:
                        response = await client.request(**request, headers=headers)
            except httpx.HTTPError as exc:
                raise ToolCallError(f"{type(exc).__name__}: {exc}", tool=operation.name) from None
            return _result(response, operation.name)

        return call

    async def _document(self) -> tuple[dict[str, Any], str]:
        source = self.document
        if isinstance(source, Mapping):
            return dict(source), "<document>"
        text = str(source)
        if text.startswith(("http://", "https://")):
            try:
                if self.client is not None:
                    response = await self.client.get(text, headers=self.headers)
                else:
                    async with httpx.AsyncClient(timeout=self.timeout) as client:
                        response = await client.get(text, headers=self.headers)
                response.raise_for_status()
            except httpx.HTTPError as exc:
                raise ToolSpecError(f"cannot fetch the OpenAPI document: {exc}", source=text) from None
            return _parse(response.text, text), text
        path = Path(text).expanduser()
        if not path.is_file():
            raise ToolSpecError("no such OpenAPI document", source=text)
        return _parse(path.read_text(encoding="utf-8"), text), text


class Operation:
    """One operation of a path item (its `$ref`s inlined): its spec, and how arguments become an HTTP request."""

    def __init__(self, path: str, method: str, item: Mapping[str, Any], base: str, location: str) -> None:
        operation = item[method]
        self.path, self.method, self.base = path, method, base.rstrip("/")
        if not isinstance(operation, Mapping):
            raise ToolSpecError(f"operation {method.upper()} {path} must be an object", source=location)
        self.name = _tool_name(operation.get("operationId") or re.sub(r"[^A-Za-z0-9]+", "_", f"{method}_{path}"))
        refuse_unread_keys(
            operation, _OPERATION_KEYS, form="an OpenAPI operation", inputs="'parameters' and 'requestBody'",
            tool=self.name, source=location,
        )
        merged: dict[tuple[str, str], Mapping[str, Any]] = {}
        for where, parameters in (("path item", item.get("parameters")), ("operation", operation.get("parameters"))):
            if not isinstance(parameters, list | None):
                raise ToolSpecError(f"the {where}'s 'parameters' must be a list", tool=self.name, source=location)
            for index, parameter in enumerate(parameters or []):
                merged[self._parameter_key(parameter, f"{where} parameters[{index}]", location)] = parameter
        names = [name for name, _ in merged]
        self.places: dict[str, tuple[str, str]] = {}  # argument -> (where, wire name)
        properties: dict[str, Any] = {}
        required: list[str] = []
        for (wire, place), parameter in merged.items():
            argument = _tool_name(wire if names.count(wire) == 1 else f"{wire}_{place}")
            self.places[argument] = (place, wire)
            schema = self._parameter_schema(parameter, wire, location)
            if parameter.get("description"):
                schema["description"] = parameter["description"]
            properties[argument] = schema
            if parameter.get("required") or place == "path":
                required.append(argument)
        body = operation.get("requestBody") or {}
        self.body_argument: str | None = None
        json_body = _json_content(body.get("content") or {})
        if json_body is None and body.get("content"):
            raise ToolSpecError(
                f"requestBody has no JSON media type ({', '.join(body['content'])}); only JSON bodies can be sent",
                tool=self.name,
                source=location,
            )
        if json_body is not None:
            self.body_argument = "body" if "body" not in properties else "request_body"
            schema = dict(json_body.get("schema") or {})
            if body.get("description"):
                schema.setdefault("description", body["description"])
            properties[self.body_argument] = schema
            if body.get("required"):
                required.append(self.body_argument)
        description = " ".join(part for part in (operation.get("summary"), operation.get("description")) if part)
        try:
            self.spec = ToolSpec(
                name=self.name,
                description=description or f"{method.upper()} {path}",
                parameters={"type": "object", "properties": properties, "required": required},
                result_schema=_result_schema(operation.get("responses") or {}),
            )
        except ValidationError as exc:
            raise ToolSpecError(validation_message(exc), tool=self.name, source=location) from None

    def _parameter_key(self, parameter: Any, where: str, location: str) -> tuple[str, str]:
        """(name, in) of a parameter object; `ToolSpecError` naming it when it cannot become an argument."""
        if not isinstance(parameter, Mapping) or not isinstance(parameter.get("name"), str):
            raise ToolSpecError(f"{where}: a parameter needs a 'name'", tool=self.name, source=location)
        if parameter.get("in") not in _PARAMETER_PLACES:
            raise ToolSpecError(
                f"{where} ({parameter['name']!r}): 'in' must be one of {', '.join(_PARAMETER_PLACES)}, "
                f"not {parameter.get('in')!r}",
                tool=self.name,
                source=location,
            )
        return parameter["name"], parameter["in"]

    def _parameter_schema(self, parameter: Mapping[str, Any], wire: str, location: str) -> dict[str, Any]:
        """The parameter's `schema`, or the schema of its JSON `content`."""
        if "content" not in parameter:
            return dict(parameter.get("schema") or {})
        content = _json_content(parameter["content"]) if isinstance(parameter["content"], Mapping) else None
        if content is None:
            raise ToolSpecError(f"parameter {wire!r}: 'content' has no JSON media type", tool=self.name, source=location)
        return dict(content.get("schema") or {})

    def request(self, arguments: Mapping[str, Any]) -> dict[str, Any]:
        """The keyword arguments of `httpx.AsyncClient.request` for these tool arguments."""
        path = self.path
        query: dict[str, Any] = {}
        headers: dict[str, str] = {}
        cookies: list[str] = []
        for argument, value in arguments.items():
            if argument == self.body_argument:
                continue
            if argument not in self.places:
                raise ToolCallError(f"unknown argument {argument!r}", tool=self.name)
            place, wire = self.places[argument]
            if place == "path":
                path = path.replace("{" + wire + "}", quote(str(value), safe=""))
            elif place == "query":
                query[wire] = json.dumps(value) if isinstance(value, dict) else value
            elif place == "header":
                headers[wire] = str(value)
            else:
                cookies.append(f"{wire}={quote(str(value), safe='')}")
        if cookies:
            headers["Cookie"] = "; ".join(cookies)
        missing = re.findall(r"\{([^}]+)\}", path)
        if missing:
            raise ToolCallError(f"missing path parameter(s) {missing}", tool=self.name)
        request: dict[str, Any] = {"method": self.method.upper(), "url": self.base + path, "params": query, "headers": headers}
        if self.body_argument is not None and self.body_argument in arguments:
            request["json"] = arguments[self.body_argument]
        return request


def _result(response: httpx.Response, tool: str) -> Any:
    if not response.is_success:
        excerpt = response.text[:_BODY_EXCERPT]
        raise ToolCallError(f"HTTP {response.status_code} {response.reason_phrase}: {excerpt}", tool=tool, status=response.status_code)
    if response.status_code == 204 or not response.content:
        return None
    if "json" in response.headers.get("content-type", ""):
        try:
            return response.json()
        except ValueError:
            pass
    return response.text


class _Resolver:
    """Inline local `$ref`s; a reference met again inside itself becomes `{}`."""

    def __init__(self, document: Mapping[str, Any], location: str) -> None:
        self.document = document
        self.location = location

    def resolve(self, node: Any, seen: tuple[str, ...] = ()) -> Any:
        if isinstance(node, list):
            return [self.resolve(item, seen) for item in node]
        if not isinstance(node, Mapping):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str):
            if ref in seen:
                return {}
            return self.resolve(self._target(ref), (*seen, ref))
        return {key: self.resolve(value, seen) for key, value in node.items()}

    def _target(self, ref: str) -> Any:
        if not ref.startswith("#/"):
            raise ToolSpecError(f"only local $refs are supported, not {ref!r}", source=self.location)
        node: Any = self.document
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, Mapping) or part not in node:
                raise ToolSpecError(f"$ref {ref!r} points nowhere", source=self.location)
            node = node[part]
        return node


def _json_content(content: Mapping[str, Any]) -> Mapping[str, Any] | None:
    for media_type, value in content.items():
        if media_type == "application/json" or media_type.endswith("+json"):
            return value
    return None


def _result_schema(responses: Mapping[str, Any]) -> dict[str, Any] | None:
    for status in ("200", "201", "2XX"):
        content = _json_content((responses.get(status) or {}).get("content") or {})
        if content is not None and content.get("schema"):
            return dict(content["schema"])
    return None


def _server_url(document: Mapping[str, Any], location: str) -> str:
    servers = document.get("servers") or []
    url = servers[0].get("url", "") if servers else ""
    if url.startswith(("http://", "https://")):
        return url
    if location.startswith(("http://", "https://")):
        return str(httpx.URL(location).join(url or "/"))
    raise ToolSpecError("no absolute server URL in the document: pass base_url=", source=location)


def _tool_name(text: str) -> str:
    name = re.sub(r"[^A-Za-z0-9_.\-]+", "_", text).strip("_") or "operation"
    return name[:128]


def _parse(text: str, location: str) -> dict[str, Any]:
    import yaml

    try:
        data = yaml.safe_load(text)  # YAML is a superset of JSON
    except yaml.YAMLError as exc:
        raise ToolSpecError(f"cannot parse the OpenAPI document: {exc}", source=location) from None
    if not isinstance(data, dict):
        raise ToolSpecError("an OpenAPI document must be an object", source=location)
    return data
