"""Executable tools: a `ToolSpec` plus a callable and its `ToolPolicy`; the `@tool` decorator; `ToolRegistry`."""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, get_type_hints, overload

from pydantic import Field, create_model
from typing_extensions import TypedDict, Unpack

from f1.errors import ToolSpecError
from f1.tools.spec import ToolSpec


@dataclass(frozen=True, slots=True)
class ToolPolicy:
    """How the scheduler runs a tool. Retries apply only to idempotent tools. `read_only`: the tool changes
    nothing anywhere (reads, computes); only such tools are served to clients that may not write."""

    timeout: float | None = None
    retries: int = 0
    idempotent: bool = False
    read_only: bool = False
    max_concurrency: int | None = None
    backoff: float = 0.05

    def __post_init__(self) -> None:
        if self.timeout is not None and self.timeout <= 0:
            raise ValueError(f"timeout must be positive, not {self.timeout}")
        if self.retries < 0:
            raise ValueError(f"retries must be >= 0, not {self.retries}")
        if self.max_concurrency is not None and self.max_concurrency < 1:
            raise ValueError(f"max_concurrency must be >= 1, not {self.max_concurrency}")
        if self.backoff < 0:
            raise ValueError(f"backoff must be >= 0, not {self.backoff}")

    @property
    def attempts(self) -> int:
        """How many times a failing call is tried in all."""
        return 1 + (self.retries if self.idempotent else 0)


@dataclass(frozen=True, slots=True)
class Tool:
    """A callable tool. `fn` takes the arguments as keywords; it may be sync (run in a thread) or async."""

    spec: ToolSpec
    fn: Callable[..., Any] = field(repr=False)
    policy: ToolPolicy = ToolPolicy()

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def is_async(self) -> bool:
        return inspect.iscoroutinefunction(self.fn) or inspect.iscoroutinefunction(getattr(self.fn, "__call__", None))

    def __call__(self, **kwargs: Any) -> Any | Awaitable[Any]:
        return self.fn(**kwargs)

    def with_policy(self, **changes: Any) -> Tool:
        """A copy with some policy fields changed."""
        return replace(self, policy=replace(self.policy, **changes))


class PolicyOptions(TypedDict, total=False):
    """The `ToolPolicy` fields `@tool` takes as keywords."""

    timeout: float | None
    retries: int
    idempotent: bool
    read_only: bool
    max_concurrency: int | None


@overload
def tool(fn: Callable[..., Any], /) -> Tool: ...
@overload
def tool(
    *, name: str | None = None, description: str | None = None, **policy: Unpack[PolicyOptions]
) -> Callable[[Callable[..., Any]], Tool]: ...
def tool(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    **policy: Unpack[PolicyOptions],
) -> Tool | Callable[[Callable[..., Any]], Tool]:
    """Make a `Tool` of a typed function; its spec comes from the type hints and the docstring, its `ToolPolicy`
    from the keywords (`timeout`, `retries`, `idempotent`, `read_only`, `max_concurrency`)."""

    def wrap(function: Callable[..., Any]) -> Tool:
        spec = spec_from_function(function, name=name, description=description)
        return Tool(spec=spec, fn=function, policy=ToolPolicy(**policy))

    return wrap(fn) if fn is not None else wrap


def spec_from_function(fn: Callable[..., Any], *, name: str | None = None, description: str | None = None) -> ToolSpec:
    """Build a `ToolSpec` from a function's signature, type hints and (Google/reST style) docstring."""
    tool_name = name or fn.__name__
    summary, param_docs = parse_docstring(inspect.getdoc(fn) or "")
    try:
        hints = get_type_hints(fn)
    except Exception as exc:  # unresolvable forward references
        raise ToolSpecError(f"cannot read type hints: {exc}", tool=tool_name) from None
    fields: dict[str, Any] = {}
    for parameter in inspect.signature(fn).parameters.values():
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        if parameter.kind is parameter.POSITIONAL_ONLY:
            raise ToolSpecError(f"parameter {parameter.name!r} is positional-only; tools take keywords", tool=tool_name)
        annotation = hints.get(parameter.name, Any)
        default = ... if parameter.default is parameter.empty else parameter.default
        fields[parameter.name] = (annotation, Field(default, description=param_docs.get(parameter.name)))
    model = create_model(f"{tool_name}_args", **fields)
    schema = model.model_json_schema()
    schema.pop("title", None)
    for prop in schema.get("properties", {}).values():
        prop.pop("title", None)
    schema.setdefault("required", [])
    result = hints.get("return")
    result_schema = None
    if result not in (None, Any, type(None)):
        from pydantic import TypeAdapter

        try:
            result_schema = TypeAdapter(result).json_schema()
        except Exception:  # not every return type has a schema; the result is then unchecked
            result_schema = None
    return ToolSpec(name=tool_name, description=description or summary, parameters=schema, result_schema=result_schema)


_SECTION = re.compile(r"^(Args|Arguments|Parameters|Params|Returns|Raises|Yields|Examples?):\s*$")
_ARG_LINE = re.compile(r"^\s*(\*{0,2}\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")
_REST_PARAM = re.compile(r"^:param\s+(?:\w+\s+)?(\w+):\s*(.*)$")
_REST_FIELD = re.compile(r"^:\w+(\s+[^:]*)?:")


def parse_docstring(doc: str) -> tuple[str, dict[str, str]]:
    """Split a docstring into its summary and per-parameter descriptions (Google or reST style)."""
    summary: list[str] = []
    params: dict[str, str] = {}
    section: str | None = None
    current: str | None = None
    param_indent: int | None = None
    for line in doc.splitlines():
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        header = _SECTION.match(stripped)
        rest = _REST_PARAM.match(stripped)
        match = _ARG_LINE.match(line)
        if header:
            section, current, param_indent = header.group(1), None, None
        elif rest:
            section, current = "reST", rest.group(1)
            params[current] = rest.group(2).strip()
        elif _REST_FIELD.match(stripped):  # :returns:, :rtype:, :raises X:, :type x: end the summary
            section, current = "reST", None
        elif section == "reST" and stripped and current:
            params[current] = f"{params[current]} {stripped}"
        elif section in ("Args", "Arguments", "Parameters", "Params") and stripped:
            if match and (param_indent is None or indent <= param_indent):
                param_indent = indent
                current = match.group(1).lstrip("*")
                params[current] = match.group(2).strip()
            elif current:
                params[current] = f"{params[current]} {stripped}".strip()
        elif section is None:
            summary.append(stripped)
    return " ".join(part for part in summary if part).strip(), params


class ToolRegistry(Mapping[str, Tool]):
    """Tools by name. Names are unique; adding a second tool of the same name is an error."""

    def __init__(self, tools: Iterable[Tool | Callable[..., Any]] = ()) -> None:
        self._tools: dict[str, Tool] = {}
        for item in tools:
            self.add(item)

    def add(self, item: Tool | Callable[..., Any]) -> Tool:
        """Register a `Tool`, or a plain function (wrapped with `@tool`)."""
        new = item if isinstance(item, Tool) else tool(item)
        if new.name in self._tools:
            raise ToolSpecError("duplicate tool name: a tool set holds each name once", tool=new.name)
        self._tools[new.name] = new
        return new

    def __getitem__(self, name: str) -> Tool:
        return self._tools[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._tools)

    def __len__(self) -> int:
        return len(self._tools)

    @property
    def specs(self) -> dict[str, ToolSpec]:
        """Each tool's spec, by name (what planning and validation need)."""
        return {name: item.spec for name, item in self._tools.items()}
