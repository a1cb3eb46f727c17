"""f1: F1-style function calling. A planner emits a grammar-constrained plan (a DAG of tool calls); an async
scheduler runs it while it decodes; a joiner answers or replans."""

from f1.conversation import Conversation
from f1.engine import Engine, EngineConfig, Solution
from f1.errors import F1Error, ModelError, PlanError, ToolSpecError
from f1.plan import Plan, Step
from f1.scheduler import Scheduler, Trace
from f1.tools import Tool, ToolPolicy, ToolRegistry, ToolSpec, tool

__all__ = [
    "Conversation",
    "Engine",
    "EngineConfig",
    "F1Error",
    "ModelError",
    "Plan",
    "PlanError",
    "Scheduler",
    "Solution",
    "Step",
    "Tool",
    "ToolPolicy",
    "ToolRegistry",
    "ToolSpec",
    "ToolSpecError",
    "Trace",
    "tool",
]
__version__ = "0.1.0"
