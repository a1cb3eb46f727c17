"""JSON schema -> llguidance Lark rules, with step references allowed only to earlier steps.

Every value rule is *parametric* (llguidance ``rule::_``): the parameter is the position k of the step being
written, and at every value position the rule accepts either the typed value or a reference string ``"$j"`` /
``"$j.path"`` with ``j < k``. Plain strings that would spell a reference are excluded, so a reference to a later
step cannot slip in as a string. Parameter 0 means "no references" (single tool calls): strings are unrestricted.

Schemas are translated directly for the common subset (types, enum/const, properties/required, items, anyOf);
any other keyword falls back to an embedded ``%json { ... }`` for that sub-tree (typed by llguidance; references
are then accepted only for the sub-tree as a whole, not inside it). llguidance cannot enforce the keywords in
`UNENFORCEABLE` (it refuses to compile them); `unenforceable_keyword` finds one in a schema.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

# JSON terminals (compact: no free whitespace anywhere). JSON_STRING is added with its length bound.
JSON_CHAR = r"""(\\(["\\\/bfnrt]|u[a-fA-F0-9]{4})|[^"\\\x00-\x1F\x7F])"""
TERMINALS = r"""
REF_STRING: /"\$[1-9][0-9]*(\.[A-Za-z0-9_\-]+)*"/
PLAIN_STRING: JSON_STRING & ~REF_STRING
INT: /-?(0|[1-9][0-9]*)/
NUMBER: /-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+\-]?[0-9]+)?/
"""

_DOC_KEYS = frozenset({"description", "title", "examples", "default", "$comment", "deprecated", "readOnly", "writeOnly"})
_SIMPLE = frozenset({"type", "enum", "const", "properties", "required", "additionalProperties", "items", "anyOf"})
_PATH = r"(\.[A-Za-z0-9_\-]+)*"
# Keywords llguidance's JSON schema compiler refuses ("Unimplemented keys"): a grammar cannot enforce them.
UNENFORCEABLE = frozenset(
    {"not", "if", "then", "else", "uniqueItems", "contains", "minContains", "maxContains", "propertyNames"}
    | {"dependentRequired", "dependentSchemas", "dependencies", "unevaluatedProperties", "unevaluatedItems"}
    | {"$dynamicRef", "$dynamicAnchor", "$recursiveRef", "$recursiveAnchor"}
)
# Where a schema holds subschemas: one, a list of them, or a map of names to them (all else is data).
_ONE = frozenset({"items", "additionalProperties", "additionalItems", "not", "if", "then", "else", "contains"})
_ONE |= {"propertyNames", "unevaluatedProperties", "unevaluatedItems"}
_LIST = frozenset({"anyOf", "oneOf", "allOf", "prefixItems", "items"})
_MAP = frozenset({"properties", "patternProperties", "$defs", "definitions", "dependentSchemas"})


def literal(text: str) -> str:
    """A Lark string literal matching `text` exactly."""
    return json.dumps(text, ensure_ascii=False)


def json_literal(value: Any) -> str:
    """A Lark string literal matching the compact JSON encoding of `value`."""
    return literal(json.dumps(value, ensure_ascii=False, separators=(",", ":")))


def unenforceable_keyword(schema: Any) -> tuple[str, str] | None:
    """The first keyword of `schema` (or a subschema) in `UNENFORCEABLE`, with its JSON path, else None."""
    stack: list[tuple[Any, str]] = [(schema, "")]
    while stack:
        node, path = stack.pop()
        if not isinstance(node, Mapping):
            continue
        for key, value in node.items():
            where = f"{path}/{key}"
            if key in UNENFORCEABLE:
                return key, where.lstrip("/")
            if key in _ONE and isinstance(value, Mapping):
                stack.append((value, where))
            elif key in _LIST and isinstance(value, list):
                stack.extend((sub, f"{where}/{index}") for index, sub in enumerate(value))
            elif key in _MAP and isinstance(value, Mapping):
                stack.extend((sub, f"{where}/{name}") for name, sub in value.items())
    return None


def strip_docs(schema: Any) -> Any:
    """Drop documentation-only keywords (they do not constrain values) to keep grammars small."""
    if isinstance(schema, list):
        return [strip_docs(item) for item in schema]
    if not isinstance(schema, Mapping):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _DOC_KEYS:
            continue
        if key in ("properties", "patternProperties", "$defs", "definitions") and isinstance(value, Mapping):
            out[key] = {name: strip_docs(sub) for name, sub in value.items()}
        else:
            out[key] = strip_docs(value)
    return out


class LarkWriter:
    """Collects the rules of one grammar; identical sub-schemas share one rule."""

    def __init__(self, *, max_steps: int, max_string_length: int | None = None) -> None:
        self.max_steps = max_steps
        self.max_string_length = max_string_length
        self.rules: list[str] = []
        self._cache: dict[str, str] = {}
        self._count = 0
        self._common()

    def text(self, start: str) -> str:
        """The complete grammar with `start` as its start rule body."""
        repeat = "*" if self.max_string_length is None else f"{{0,{self.max_string_length}}}"
        string = f'JSON_STRING: /"{JSON_CHAR}{repeat}"/'
        return "\n".join(["%llguidance {}", f"start: {start}", *self.rules, string, TERMINALS])

    def args(self, schema: Mapping[str, Any]) -> str:
        """A parametric rule for a tool's argument object (itself never a reference)."""
        return self._rule(strip_docs(dict(schema)), allow_ref=False)

    def value(self, schema: Any) -> str:
        """A parametric rule for a value of `schema` or a reference to an earlier step."""
        return self._rule(strip_docs(schema), allow_ref=True)

    def define(self, name: str, body: str) -> str:
        """Add rule `name`; it is parametric only if its body uses the parameter (llguidance requires that).
        Returns how to reference it."""
        if "::" in body or "%if" in body:
            self.rules.append(f"{name}::_: {body}")
            return f"{name}::_"
        self.rules.append(f"{name}: {body}")
        return name

    # internals -------------------------------------------------------------------------------------
    def _new(self, prefix: str) -> str:
        self._count += 1
        return f"{prefix}{self._count}"

    def _common(self) -> None:
        refs = [f"REF{k} %if eq(_, {k})" for k in range(2, self.max_steps + 1)]
        self._ref = " | ref::_" if refs else ""  # a one-step grammar has nothing to reference
        self.rules += [
            *(["ref::_: " + " | ".join(refs)] if refs else []),
            "str::_: JSON_STRING %if eq(_, 0) | PLAIN_STRING %if ne(_, 0)",
            f'any::_: str::_ | NUMBER | "true" | "false" | "null"{self._ref}'
            ' | "[" (any::_ ("," any::_)*)? "]" | "{" (JSON_STRING ":" any::_ ("," JSON_STRING ":" any::_)*)? "}"',
        ]
        for k in range(2, self.max_steps + 1):
            earlier = "|".join(str(j) for j in range(1, k))
            bound = "" if self.max_string_length is None else f' & /"[^"]{{0,{self.max_string_length}}}"/'
            self.rules.append(f'REF{k}: /"\\$({earlier}){_PATH}"/{bound}')

    def _rule(self, schema: Any, *, allow_ref: bool) -> str:
        key = json.dumps([schema, allow_ref], sort_keys=True)
        if key not in self._cache:
            body = self._body(schema)
            if allow_ref and body != "any::_":
                body += self._ref
            self._cache[key] = self.define(self._new("v" if allow_ref else "a"), body)
        return self._cache[key]

    def _body(self, schema: Any) -> str:
        if schema is True or schema == {}:
            return "any::_"
        if not isinstance(schema, Mapping) or not set(schema) <= _SIMPLE:
            return self._embedded(schema)
        if "const" in schema:
            return json_literal(schema["const"])
        if "enum" in schema:
            return " | ".join(json_literal(item) for item in schema["enum"])
        if "anyOf" in schema:
            if set(schema) != {"anyOf"}:
                return self._embedded(schema)
            return " | ".join(self._rule(sub, allow_ref=False) for sub in schema["anyOf"])
        types = schema.get("type")
        if types is None:
            return self._embedded(schema) if set(schema) - {"type"} else "any::_"
        if isinstance(types, list):
            return " | ".join(self._typed(kind, schema) for kind in types)
        return self._typed(types, schema)

    def _typed(self, kind: str, schema: Mapping[str, Any]) -> str:
        if kind == "string":
            return "str::_"
        if kind == "integer":
            return "INT"
        if kind == "number":
            return "NUMBER"
        if kind == "boolean":
            return '"true" | "false"'
        if kind == "null":
            return '"null"'
        if kind == "array":
            if not isinstance(schema.get("items", {}), Mapping):
                return self._embedded(schema)  # tuple-style items lists
            item = self.value(schema.get("items", {}))
            return f'"[" ({item} ("," {item})*)? "]"'
        if kind == "object":
            return self._object(schema)
        return self._embedded(schema)

    def _object(self, schema: Mapping[str, Any]) -> str:
        properties: Mapping[str, Any] = schema.get("properties") or {}
        extra = schema.get("additionalProperties", True)
        unlisted = [name for name in schema.get("required") or () if name not in properties]
        if unlisted:  # required but not described: generated as properties of the additional-properties schema
            if extra is False:
                return self._embedded(schema)  # unsatisfiable; the embedded JSON schema says so
            properties = {**properties, **dict.fromkeys(unlisted, {} if extra is True else extra)}
        if not properties:
            if extra is False:
                return '"{}"'
            value = "any::_" if extra is True or extra == {} else self.value(extra)
            return f'"{{" (JSON_STRING ":" {value} ("," JSON_STRING ":" {value})*)? "}}"'
        # Properties in schema order; extra properties are not generated (stricter than the schema, still valid).
        required = set(schema.get("required") or ())
        names = list(properties)
        pairs = [f"{json_literal(name)} \":\" {self.value(properties[name])}" for name in names]
        base = self._new("o")
        # t_i: the rest once something was written, from property i on; h_i: the first property written is i or later.
        tail, head = '""', ""
        for index in range(len(names) - 1, -1, -1):
            optional = names[index] not in required
            options = [f"{pairs[index]} {tail}"] + ([head] if optional and head else [])
            head = self.define(f"{base}h{index}", " | ".join(options))
            if index > 0:
                options = [f'"," {pairs[index]} {tail}'] + ([tail] if optional else [])
                tail = self.define(f"{base}t{index}", " | ".join(options))
        empty = ' | "{}"' if not required else ""
        return f'"{{" {head} "}}"{empty}'

    def _embedded(self, schema: Any) -> str:
        key = json.dumps(["json", schema], sort_keys=True)
        if key not in self._cache:
            name = self._new("j")
            self._cache[key] = name
            body = dict(schema) if isinstance(schema, Mapping) else {}
            if schema is False:
                body = {"not": {}}
            body["x-guidance"] = {"whitespace_flexible": False}
            self.rules.append(f"{name}: %json {json.dumps(body)}")
        return self._cache[key]
