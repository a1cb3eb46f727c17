"""`ToolSpec`: a tool's name, description and JSON-schema parameters, in OpenAI, BFCL and Seal-Tools formats."""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import jsonschema
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from f1.errors import ToolSpecError

NAME_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,127}$"
EMPTY_PARAMETERS: dict[str, Any] = {"type": "object", "properties": {}}

# BFCL (and Java/JavaScript) type names -> JSON Schema. "any" has no constraint.
_FOREIGN_TYPES: dict[str, dict[str, Any]] = {
    **{name: {"type": "object"} for name in ("dict", "object", "HashMap", "Hashtable", "map")},
    **{name: {"type": "array"} for name in ("array", "list", "tuple", "ArrayList", "Array", "Queue", "Stack", "set")},
    **{name: {"type": "number"} for name in ("number", "float", "double")},
    **{name: {"type": "integer"} for name in ("integer", "int", "long", "short", "byte", "Bigint")},
    **{name: {"type": "string"} for name in ("string", "str", "String", "char")},
    **{name: {"type": "boolean"} for name in ("boolean", "bool")},
    **{name: {"type": "null"} for name in ("null", "None")},
    **{name: {} for name in ("any", "Any")},
}
_TO_BFCL = {"object": "dict", "number": "float"}
_TO_SEAL = {"string": "str", "integer": "int", "number": "float", "boolean": "bool", "array": "list", "object": "dict"}


class ToolSpec(BaseModel):
    """What a planner needs to know of a tool. `parameters` is a JSON schema of type object."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=NAME_PATTERN)
    description: str = ""
    parameters: dict[str, Any] = Field(default_factory=lambda: dict(EMPTY_PARAMETERS))
    result_schema: dict[str, Any] | None = None
    examples: list[dict[str, Any]] = Field(default_factory=list)

    @field_validator("parameters")
    @classmethod
    def _parameters_are_an_object_schema(cls, schema: dict[str, Any]) -> dict[str, Any]:
        _check_schema(schema)
        if schema.get("type", "object") != "object":
            raise ValueError(f"parameters must be a schema of type 'object', not {schema.get('type')!r}")
        return schema

    @field_validator("result_schema")
    @classmethod
    def _result_schema_is_valid(cls, schema: dict[str, Any] | None) -> dict[str, Any] | None:
        if schema is not None:
            _check_schema(schema)
        return schema

    @property
    def required(self) -> list[str]:
        """Names of the required parameters."""
        return list(self.parameters.get("required", []))

    def __hash__(self) -> int:
        return hash(self.name)

    # OpenAI -------------------------------------------------------------------------------------------
    def to_openai(self) -> dict[str, Any]:
        """The OpenAI ``tools`` entry: ``{"type": "function", "function": {...}}``."""
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": self.parameters},
        }

    @classmethod
    def from_openai(cls, data: Mapping[str, Any], *, source: str | None = None) -> ToolSpec:
        """Read an OpenAI tools entry, with or without the ``{"type": "function"}`` wrapper."""
        if data.get("type") == "function" and isinstance(data.get("function"), Mapping):
            data = data["function"]
        return _build(
            source,
            data,
            name=data.get("name"),
            description=data.get("description", ""),
            parameters=data.get("parameters") or dict(EMPTY_PARAMETERS),
        )

    # BFCL ---------------------------------------------------------------------------------------------
    def to_bfcl(self) -> dict[str, Any]:
        """BFCL's function doc: ``dict``/``float`` type names."""
        return {"name": self.name, "description": self.description, "parameters": _rename_types(self.parameters)}

    @classmethod
    def from_bfcl(cls, data: Mapping[str, Any], *, source: str | None = None) -> ToolSpec:
        """Read a BFCL function doc (type names like ``dict``, ``float``, ``tuple``, ``any``)."""
        return _build(
            source,
            data,
            name=data.get("name"),
            description=data.get("description", ""),
            parameters=normalize_schema(data.get("parameters") or dict(EMPTY_PARAMETERS)),
            result_schema=normalize_schema(data["response"]) if isinstance(data.get("response"), Mapping) else None,
        )

    # Seal-Tools ---------------------------------------------------------------------------------------
    def to_seal(self) -> dict[str, Any]:
        """Seal-Tools' catalogue entry (flat ``{name: {type, description}}`` parameters)."""
        return {
            "api_name": self.name,
            "api_description": self.description,
            "parameters": _flatten_properties(self.parameters),
            "required": self.required,
            "responses": _flatten_properties(self.result_schema or EMPTY_PARAMETERS),
        }

    @classmethod
    def from_seal(cls, data: Mapping[str, Any], *, source: str | None = None) -> ToolSpec:
        """Read a Seal-Tools catalogue entry."""
        parameters = data.get("parameters") or {}
        if not isinstance(parameters, Mapping):
            raise ToolSpecError("'parameters' must be an object", tool=data.get("api_name"), source=source)
        responses = data.get("responses") or {}
        return _build(
            source,
            data,
            name=data.get("api_name"),
            description=data.get("api_description", ""),
            parameters=_object_schema(parameters, data.get("required") or [], data.get("api_name"), source),
            result_schema=_object_schema(responses, [], data.get("api_name"), source) if responses else None,
        )

    @classmethod
    def from_any(cls, data: Any, *, source: str | None = None) -> ToolSpec:
        """Detect the format (ours, OpenAI, BFCL or Seal-Tools) and read it."""
        if not isinstance(data, Mapping):
            raise ToolSpecError(f"a tool spec must be an object, not {type(data).__name__}", source=source)
        if "api_name" in data:
            return cls.from_seal(data, source=source)
        if data.get("type") == "function":
            return cls.from_openai(data, source=source)
        if "result_schema" in data or "examples" in data:
            return _build(source, data, **dict(data))
        return cls.from_bfcl(data, source=source)


def normalize_schema(schema: Any) -> Any:
    """Rewrite BFCL/Java type names (``dict``, ``float``, ``tuple``, ``any``) into JSON Schema, recursively."""
    if isinstance(schema, list):
        return [normalize_schema(item) for item in schema]
    if not isinstance(schema, Mapping):
        return schema
    out: dict[str, Any] = {}
    schema = _enum_to_items(schema)
    for key, value in schema.items():
        if key == "type" and isinstance(value, str) and value in _FOREIGN_TYPES:
            out.update(_FOREIGN_TYPES[value])
        elif key == "properties" and isinstance(value, Mapping):
            out[key] = {name: normalize_schema(prop) for name, prop in value.items()}
        elif key in ("items", "additionalProperties", "anyOf", "oneOf", "allOf", "not", "prefixItems"):
            out[key] = normalize_schema(value)
        elif key == "optional":
            continue  # BFCL's documentation-only flag; "required" is what counts
        else:
            out[key] = value
    return out


def _enum_to_items(schema: Mapping[str, Any]) -> Mapping[str, Any]:
    """BFCL puts `enum` on an array to list the allowed item values; JSON Schema wants it on `items`."""
    if schema.get("type") not in ("array", "list", "tuple") or "enum" not in schema:
        return schema
    if not all(isinstance(value, str | int | float | bool) for value in schema["enum"]):
        return schema  # an enum of whole arrays is already JSON Schema
    moved = {key: value for key, value in schema.items() if key != "enum"}
    moved["items"] = {**dict(schema.get("items") or {}), "enum": schema["enum"]}
    return moved


def _rename_types(schema: Any) -> Any:
    if isinstance(schema, list):
        return [_rename_types(item) for item in schema]
    if not isinstance(schema, Mapping):
        return schema
    return {
        key: _TO_BFCL.get(value, value) if key == "type" and isinstance(value, str) else _rename_types(value)
        for key, value in schema.items()
    }


def _flatten_properties(schema: Mapping[str, Any]) -> dict[str, Any]:
    return {
        name: {"type": _TO_SEAL.get(prop.get("type", ""), prop.get("type", "any")), "description": prop.get("description", "")}
        for name, prop in schema.get("properties", {}).items()
    }


def _object_schema(flat: Mapping[str, Any], required: list[str], tool: Any, source: str | None) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    for name, prop in flat.items():
        if not isinstance(prop, Mapping):
            raise ToolSpecError(f"parameter {name!r} must be an object with 'type'", tool=tool, source=source)
        prop = dict(prop)
        if "examples" in prop and not isinstance(prop["examples"], list):
            prop["examples"] = [prop["examples"]]  # Seal-Tools writes one example as a bare value
        properties[name] = normalize_schema(prop)
    return {"type": "object", "properties": properties, "required": [name for name in required if name in properties]}


def _check_schema(schema: Mapping[str, Any]) -> None:
    _check_schema_json(json.dumps(schema, sort_keys=True))


@lru_cache(maxsize=8192)
def _check_schema_json(schema_json: str) -> None:
    schema = json.loads(schema_json)
    if _is_plain(schema):
        return
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    error = jsonschema.exceptions.best_match(_meta_validator(cls).iter_errors(schema))
    if error is not None:
        where = "/".join(str(part) for part in error.absolute_path)
        raise ValueError(f"not a valid JSON schema{f' at {where}' if where else ''}: {error.message}")


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


@lru_cache(maxsize=None)
def _meta_validator(cls: type[jsonschema.protocols.Validator]) -> jsonschema.protocols.Validator:
    """One validator of each draft's metaschema, reused: building it per check costs more than the check."""
    return cls(cls.META_SCHEMA)


def _build(source: str | None, raw: Mapping[str, Any], **fields: Any) -> ToolSpec:
    name = fields.get("name")
    if not isinstance(name, str) or not name:
        raise ToolSpecError("missing 'name'", source=source)
    try:
        return ToolSpec(**fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        raise ToolSpecError(f"{field}: {first['msg']}", tool=name, source=source) from None
