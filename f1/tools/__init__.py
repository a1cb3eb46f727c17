"""Tools: specs (OpenAI/BFCL/Seal-Tools formats), executable tools, registries and sources."""

from f1.tools.loading import check_unique, load_specs
from f1.tools.registry import Tool, ToolPolicy, ToolRegistry, spec_from_function, tool
from f1.tools.source import ToolSource
from f1.tools.spec import ToolSpec, normalize_schema

__all__ = [
    "Tool",
    "ToolPolicy",
    "ToolRegistry",
    "ToolSource",
    "ToolSpec",
    "check_unique",
    "load_specs",
    "normalize_schema",
    "spec_from_function",
    "tool",
]
