"""f1: F1-style function calling. A planner emits a grammar-constrained plan (a DAG of tool calls); an async
scheduler runs it while it decodes; a joiner answers or replans."""

from f1.errors import F1Error, ModelError, PlanError, ToolSpecError
from f1.plan import Plan, Step
from f1.tools import Tool, ToolPolicy, ToolRegistry, ToolSpec, tool

__all__ = [
    "F1Error",
    "ModelError",
    "Plan",
    "PlanError",
    "Step",
    "Tool",
    "ToolPolicy",
    "ToolRegistry",
    "ToolSpec",
    "ToolSpecError",
    "tool",
]
__version__ = "0.1.0"
