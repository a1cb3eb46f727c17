"""JSON schemas are data, never addresses: the one place f1 checks a schema and builds a jsonschema validator.

- `schema_validator` is the only way f1 builds a validator. Its registry resolves `$ref`s inside the schema itself
  and to the bundled JSON Schema metaschemas; any other address is refused, never fetched (jsonschema's default
  fetches ``http://`` and ``file://`` refs with `urlopen`).
- `check_schema` refuses, when a tool spec is accepted, what would otherwise fail (or fetch) at validation time:
  a schema that is not JSON Schema, a `$ref` that points outside the document or nowhere, a `pattern` that does
  not compile. Each `SchemaProblem` names the JSON path.
- Patterns (`pattern`, `patternProperties`, and `additionalProperties` next to it) run under the `regex` module
  with a timeout per match (`PATTERN_SECONDS`): Python's `re` backtracks without bound (``^(a+)+$`` on 30
  characters takes seconds), and no static test of a pattern tells every catastrophic one from a safe one.
  `unevaluatedProperties` next to `patternProperties` is refused: jsonschema matches those with `re`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import Any

import jsonschema
import regex
from jsonschema.exceptions import ValidationError
from jsonschema.protocols import Validator
from jsonschema_specifications import REGISTRY as METASCHEMAS
from referencing import Registry, Resource
from referencing.exceptions import NoSuchAnchor, PointerToNowhere, Unresolvable
from referencing.jsonschema import DRAFT202012, specification_with

from f1.cache import BoundedCache

PATTERN_SECONDS = 0.05
_REF_KEYWORDS = ("$ref", "$dynamicRef", "$recursiveRef")
_DRAFTS = (
    jsonschema.Draft3Validator,
    jsonschema.Draft4Validator,
    jsonschema.Draft6Validator,
    jsonschema.Draft7Validator,
    jsonschema.Draft201909Validator,
    jsonschema.Draft202012Validator,
)
# Every keyword some JSON Schema draft (or OpenAPI's schema object) defines; `x-...` extensions besides.
KEYWORDS = frozenset(
    {keyword for draft in _DRAFTS for keyword in draft.VALIDATORS}
    | {"$schema", "$id", "id", "$anchor", "$dynamicAnchor", "$recursiveAnchor", "$vocabulary", "$comment", "$defs"}
    | {"definitions", "title", "description", "default", "examples", "deprecated", "readOnly", "writeOnly"}
    | {"then", "else", "minContains", "maxContains", "contentEncoding", "contentMediaType", "contentSchema"}
    | {"nullable", "discriminator", "xml", "externalDocs", "example"}
)


class SchemaProblem(ValueError):
    """A schema f1 will not use; `path` is where in the schema (``properties/a/$ref``)."""

    def __init__(self, reason: str, path: tuple[str | int, ...] = ()) -> None:
        self.reason = reason
        self.path = "/".join(str(part) for part in path)
        super().__init__(f"{reason} (at {self.path})" if self.path else reason)


def _refuse(uri: str) -> Resource:
    raise LookupError(f"{uri!r} is not fetched")


REGISTRY: Registry = METASCHEMAS.combine(Registry(retrieve=_refuse))  # type: ignore[call-arg]


def schema_validator(schema: Mapping[str, Any]) -> Validator:
    """A validator for `schema` (its `$schema` draft, else 2020-12) that fetches nothing and bounds its patterns."""
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    return _bounded(cls)(schema, registry=REGISTRY)


def check_schema(schema: Mapping[str, Any]) -> None:
    """Raise `SchemaProblem` unless `schema` is valid JSON Schema whose refs and patterns f1 can use.
    Checked once per distinct schema (a bounded cache)."""
    text = json.dumps(schema, sort_keys=True)
    _CHECKED.get_or_build(text, lambda: _check(json.loads(text)))


def _check(schema: Any) -> bool:
    if _is_plain(schema):
        return True
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    error = jsonschema.exceptions.best_match(_meta_validator(cls).iter_errors(schema))
    if error is not None:
        where = "/".join(str(part) for part in error.absolute_path)
        raise SchemaProblem(f"not a valid JSON schema{f' at {where}' if where else ''}: {error.message}")
    _check_refs_and_patterns(schema)
    return True


_CHECKED: BoundedCache[bool] = BoundedCache(max_bytes=4 * 1024 * 1024)


def _check_refs_and_patterns(schema: Mapping[str, Any]) -> None:
    """Walk every subschema the validator can reach (following refs): each ref must resolve in the document, each
    pattern must compile."""
    dialect = schema.get("$schema")
    specification = specification_with(dialect if isinstance(dialect, str) else "", default=DRAFT202012)
    root = Resource.from_contents(schema, default_specification=specification)
    paths = _paths(schema)
    stack = [(root, REGISTRY.resolver_with_root(root))]
    seen: set[int] = set()
    keywords: set[str] = set()
    while stack:
        resource, resolver = stack.pop()
        contents = resource.contents
        if not isinstance(contents, Mapping) or id(contents) in seen:
            continue
        seen.add(id(contents))
        path = paths.get(id(contents), ())
        keywords.update(key for key in ("patternProperties", "unevaluatedProperties") if key in contents)
        for keyword in _REF_KEYWORDS:
            ref = contents.get(keyword)
            if isinstance(ref, str):
                target = _lookup(resolver, ref, (*path, keyword))
                if isinstance(target.contents, Mapping):
                    found = Resource.from_contents(target.contents, default_specification=specification)
                    stack.append((found, target.resolver.in_subresource(found)))
        if isinstance(contents.get("pattern"), str):
            _compiles(contents["pattern"], (*path, "pattern"))
        for pattern in contents.get("patternProperties") or {}:
            _compiles(pattern, (*path, "patternProperties", pattern))
        for sub in resource.subresources():
            stack.append((sub, resolver.in_subresource(sub)))
    if {"patternProperties", "unevaluatedProperties"} <= keywords:
        raise SchemaProblem("'unevaluatedProperties' together with 'patternProperties' is not supported")


def _lookup(resolver: Any, ref: str, path: tuple[str | int, ...]) -> Any:
    try:
        return resolver.lookup(ref)
    except (PointerToNowhere, NoSuchAnchor):
        raise SchemaProblem(f"{path[-1]} {ref!r} points nowhere in the schema", path) from None
    except (Unresolvable, ValueError):
        raise SchemaProblem(
            f"{path[-1]} {ref!r} points outside the schema: only references inside it (like '#/$defs/name') "
            "resolve, and schemas are never fetched",
            path,
        ) from None


def _paths(schema: Any) -> dict[int, tuple[str | int, ...]]:
    """Every object and array in `schema` by identity -> its JSON path (the first, if one is reused)."""
    paths: dict[int, tuple[str | int, ...]] = {}
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(schema, ())]
    while stack:
        node, path = stack.pop()
        if id(node) in paths:
            continue
        if isinstance(node, Mapping):
            paths[id(node)] = path
            stack.extend((value, (*path, key)) for key, value in node.items())
        elif isinstance(node, list):
            paths[id(node)] = path
            stack.extend((value, (*path, index)) for index, value in enumerate(node))
    return paths


def _compiles(pattern: str, path: tuple[str | int, ...]) -> None:
    try:
        _compiled(pattern)
    except (regex.error, OverflowError, RecursionError) as exc:
        raise SchemaProblem(f"invalid regular expression {pattern!r}: {exc}", path) from None


_PATTERNS: BoundedCache[Any] = BoundedCache(max_bytes=1024 * 1024)


def _compiled(pattern: str) -> Any:
    return _PATTERNS.get_or_build(pattern, lambda: regex.compile(pattern, cache_pattern=False))


def _search(pattern: str, text: str) -> bool:
    """Whether `pattern` matches somewhere in `text`; `TimeoutError` past `PATTERN_SECONDS`."""
    return _compiled(pattern).search(text, timeout=PATTERN_SECONDS) is not None


def _too_slow(pattern: str) -> ValidationError:
    return ValidationError(f"matching {pattern!r} took longer than {PATTERN_SECONDS} s; the value is refused")


def _pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "string"):
        return
    try:
        if not _search(pattern, instance):
            yield ValidationError(f"{instance!r} does not match {pattern!r}")
    except TimeoutError:
        yield _too_slow(pattern)


def _pattern_properties(validator: Any, patterns: Mapping[str, Any], instance: Any, schema: Any) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        for key, value in instance.items():
            try:
                if _search(pattern, key):
                    yield from validator.descend(value, subschema, path=key, schema_path=pattern)
            except TimeoutError:
                yield _too_slow(pattern)


def _additional_properties(validator: Any, extra: Any, instance: Any, schema: Any) -> Iterator[ValidationError]:
    """jsonschema's `additionalProperties`, matching `patternProperties` under the timeout (no match in time: extra)."""
    if not validator.is_type(instance, "object"):
        return
    properties = schema.get("properties", {})
    patterns = list(schema.get("patternProperties", {}))
    extras = sorted((key for key in instance if key not in properties and not _any_match(patterns, key)), key=str)
    if validator.is_type(extra, "object"):
        for key in extras:
            yield from validator.descend(instance[key], extra, path=key)
    elif not extra and extras:
        if patterns:
            verb = "does" if len(extras) == 1 else "do"
            yield ValidationError(
                f"{', '.join(map(repr, extras))} {verb} not match any of the regexes: {', '.join(map(repr, sorted(patterns)))}"
            )
        else:
            yield ValidationError(f"Additional properties are not allowed ({', '.join(map(repr, extras))} unexpected)")


def _any_match(patterns: list[str], key: str) -> bool:
    for pattern in patterns:
        try:
            if _search(pattern, key):
                return True
        except TimeoutError:
            continue
    return False


_BOUNDED_KEYWORDS = {"pattern": _pattern, "patternProperties": _pattern_properties, "additionalProperties": _additional_properties}


@lru_cache(maxsize=None)
def _bounded(cls: type[Validator]) -> type[Validator]:
    """The draft's validator class with the pattern keywords above (one class per draft)."""
    keywords = {key: check for key, check in _BOUNDED_KEYWORDS.items() if key in cls.VALIDATORS}
    return jsonschema.validators.extend(cls, keywords)  # type: ignore[no-any-return]


@lru_cache(maxsize=None)
def _meta_validator(cls: type[Validator]) -> Validator:
    """One validator of each draft's metaschema, reused: building it per check costs more than the check."""
    return schema_validator(cls.META_SCHEMA)


_JSON_TYPES = frozenset({"object", "array", "string", "number", "integer", "boolean", "null"})
_PLAIN_KEYS = frozenset({"type", "description", "title", "properties", "required", "items", "enum", "default"})


def _is_plain(schema: Any) -> bool:
    """A fast, exact check for the common subset of tool schemas (types, properties, items, enum, required);
    anything else goes through the metaschema, which costs milliseconds per schema."""
    if not isinstance(schema, dict) or not _PLAIN_KEYS.issuperset(schema):
        return False
    kind = schema.get("type", "object")
    kinds = kind if isinstance(kind, list) else [kind]
    if not kinds or not all(isinstance(k, str) and k in _JSON_TYPES for k in kinds):
        return False
    if not isinstance(schema.get("description", ""), str) or not isinstance(schema.get("title", ""), str):
        return False
    required = schema.get("required", [])
    if not isinstance(required, list) or not all(isinstance(name, str) for name in required):
        return False
    if "enum" in schema and not isinstance(schema["enum"], list):
        return False
    properties = schema.get("properties", {})
    if not isinstance(properties, dict) or not all(_is_plain(prop) for prop in properties.values()):
        return False
    return "items" not in schema or _is_plain(schema["items"])
