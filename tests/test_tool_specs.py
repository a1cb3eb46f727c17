"""tool_specs/: the shipped spec files are up to date, valid JSON Schema, and their examples validate."""

from __future__ import annotations

import json

import jsonschema
import pytest

from f1.tools import load_specs
from f1.tools.builtin import builtin_tools
from f1.tools.catalog import SPECS_DIR, shipped_specs, spec_file_text

SHIPPED = shipped_specs()
ALL_SPECS = [spec for specs in SHIPPED.values() for spec in specs]


def test_spec_files_are_up_to_date() -> None:
    """Regenerate with `python -m f1 tools export` when this fails."""
    on_disk = {path.relative_to(SPECS_DIR).as_posix() for path in SPECS_DIR.rglob("*.json")}
    assert on_disk == set(SHIPPED)
    for name, specs in SHIPPED.items():
        assert (SPECS_DIR / name).read_text(encoding="utf-8") == spec_file_text(specs), name


def test_spec_folder_loads_with_unique_names() -> None:
    loaded = load_specs(SPECS_DIR)
    assert len(loaded) == len(ALL_SPECS) == 15 + 128
    assert {spec.name: spec for spec in loaded} == {spec.name: spec for spec in ALL_SPECS}


@pytest.mark.parametrize("spec", ALL_SPECS, ids=lambda spec: spec.name)
def test_spec_schemas_are_valid_and_examples_validate(spec) -> None:
    jsonschema.Draft202012Validator.check_schema(spec.parameters)
    assert spec.parameters.get("type") == "object"
    if spec.result_schema is not None:
        jsonschema.Draft202012Validator.check_schema(spec.result_schema)
    for example in spec.examples:
        jsonschema.validate(example, spec.parameters, cls=jsonschema.Draft202012Validator)
    json.dumps(spec.model_dump())


def test_every_builtin_has_an_example() -> None:
    for spec in SHIPPED["builtin.json"]:
        assert spec.examples, spec.name


@pytest.mark.parametrize("name", ["calculate", "convert_units", "current_time", "convert_time", "add_duration", "date_difference", "weekday"])
def test_offline_builtin_examples_run_and_match_the_result_schema(name: str) -> None:
    tool = builtin_tools(http=False)[name]
    for example in tool.spec.examples:
        result = tool(**example)
        if tool.spec.result_schema is not None:
            jsonschema.validate(result, tool.spec.result_schema)
