"""`ToolSpec`: a tool's name, description and JSON-schema parameters, in OpenAI, BFCL and Seal-Tools formats."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from f1.errors import ToolSpecError
from f1.schemas import KEYWORDS, SchemaProblem, check_schema

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
        check_schema(schema)
        if schema.get("type", "object") != "object":
            raise ValueError(f"parameters must be a schema of type 'object', not {schema.get('type')!r}")
        stray = [key for key, value in schema.items() if _stray(key, value, KEYWORDS)]
        if stray:
            raise SchemaProblem(
                f"{stray[0]!r} is no JSON Schema keyword, so its content would be ignored: parameters are described "
                "under 'properties'",
                (stray[0],),
            )
        return schema

    @field_validator("result_schema")
    @classmethod
    def _result_schema_is_valid(cls, schema: dict[str, Any] | None) -> dict[str, Any] | None:
        if schema is not None:
            check_schema(schema)
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
        return _build(source, data, _OPENAI, **_name_and_description(data), parameters=_inputs(data, source))

    # BFCL ---------------------------------------------------------------------------------------------
    def to_bfcl(self) -> dict[str, Any]:
        """BFCL's function doc: ``dict``/``float`` type names."""
        return {"name": self.name, "description": self.description, "parameters": _rename_types(self.parameters)}

    @classmethod
    def from_bfcl(cls, data: Mapping[str, Any], *, source: str | None = None) -> ToolSpec:
        """Read a BFCL function doc (type names like ``dict``, ``float``, ``tuple``, ``any``)."""
        result = data.get("response")
        return _build(
            source,
            data,
            _BFCL,
            **_name_and_description(data),
            parameters=normalize_schema(_inputs(data, source)),
            result_schema=normalize_schema(result) if isinstance(result, Mapping) else None,
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
            _SEAL,
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
            return _build(source, data, None, **dict(data))
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


def _object_schema(flat: Mapping[str, Any], required: Any, tool: Any, source: str | None) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    for name, prop in flat.items():
        if not isinstance(prop, Mapping):
            raise ToolSpecError(f"parameter {name!r} must be an object with 'type'", tool=tool, source=source)
        prop = dict(prop)
        if "examples" in prop and not isinstance(prop["examples"], list):
            prop["examples"] = [prop["examples"]]  # Seal-Tools writes one example as a bare value
        properties[name] = normalize_schema(prop)
    if not isinstance(required, list) or not all(isinstance(name, str) for name in required):
        raise ToolSpecError("'required' must be a list of parameter names", tool=tool, source=source)
    return {"type": "object", "properties": properties, "required": required}  # an undescribed name: any value


# The keys each format reads (or knows to carry no inputs). Any other key holding an object or a list may describe
# inputs under a name the importer does not know: it is refused, never dropped (a tool would accept anything).
_OPENAI = ("an OpenAI function", "'parameters'", frozenset({"name", "description", "parameters", "strict"}))
_BFCL = ("a BFCL function", "'parameters'", frozenset({"name", "description", "parameters", "response"}))
_SEAL = (
    "a Seal-Tools entry",
    "'parameters'",
    frozenset({"api_name", "api_description", "parameters", "required", "responses", "field", "example"}),
)


def refuse_unread_keys(
    data: Mapping[str, Any], read: frozenset[str], *, form: str, inputs: str, tool: Any, source: str | None
) -> None:
    """Raise `ToolSpecError` naming the first key of `data` outside `read` that holds an object or a list
    (`form` and `inputs` say which format was read and where it takes inputs from, e.g. "'parameters'")."""
    for key, value in data.items():
        if _stray(key, value, read):
            raise ToolSpecError(
                f"unknown key {key!r}: {form} describes its inputs under {inputs}, and a key this importer "
                "cannot read is refused rather than dropped",
                tool=tool if isinstance(tool, str) else None,
                source=source,
            )


def _stray(key: str, value: Any, read: frozenset[str]) -> bool:
    return key not in read and not key.startswith("x-") and isinstance(value, Mapping | list)


def _inputs(data: Mapping[str, Any], source: str | None) -> dict[str, Any]:
    """The `parameters` schema; absent (or null, or {}) means no inputs."""
    parameters = data.get("parameters")
    if parameters is None or parameters == {}:
        return dict(EMPTY_PARAMETERS)
    if not isinstance(parameters, Mapping):
        raise ToolSpecError(
            f"'parameters' must be an object (a JSON schema), not {type(parameters).__name__}",
            tool=data.get("name") if isinstance(data.get("name"), str) else None,
            source=source,
        )
    return dict(parameters)


def _name_and_description(data: Mapping[str, Any]) -> dict[str, Any]:
    """A tool's name and description where OpenAI and BFCL keep them."""
    return {"name": data.get("name"), "description": data.get("description", "")}


def _build(
    source: str | None, raw: Mapping[str, Any], form: tuple[str, str, frozenset[str]] | None, **fields: Any
) -> ToolSpec:
    """The spec of `fields`, read from `raw` in `form` (its name, inputs key and read keys; None: ours)."""
    name = fields.get("name")
    if not isinstance(name, str) or not name:
        raise ToolSpecError("missing 'name'", source=source)
    if form is not None:
        refuse_unread_keys(raw, form[2], form=form[0], inputs=form[1], tool=name, source=source)
    try:
        return ToolSpec(**fields)
    except ValidationError as exc:
        raise ToolSpecError(validation_message(exc), tool=name, source=source) from None


def validation_message(exc: ValidationError) -> str:
    """The first problem of a `ToolSpec` that failed validation: the field (and path inside a schema) and why."""
    first = exc.errors()[0]
    field = ".".join(str(part) for part in first["loc"])
    cause = (first.get("ctx") or {}).get("error")
    if isinstance(cause, SchemaProblem):
        return f"{field}/{cause.path}: {cause.reason}" if cause.path else f"{field}: {cause.reason}"
    if isinstance(cause, ValueError):
        return f"{field}: {cause}"
    return f"{field}: {first['msg']}"
