"""f1: F1-style function calling. A planner emits a grammar-constrained plan (a DAG of tool calls); an async
scheduler runs it while it decodes; a joiner answers or replans."""

from f1.conversation import Conversation
from f1.engine import Engine, EngineConfig, Solution
from f1.errors import (
    ConfigError,
    F1Error,
    GrammarError,
    ModelError,
    PlanError,
    ReferenceResolutionError,
    StartupError,
    ToolCallError,
    ToolSourceError,
    ToolSpecError,
    UpstreamError,
)
from f1.plan import Plan, Step
from f1.scheduler import Scheduler, Trace
from f1.tools import Tool, ToolPolicy, ToolRegistry, ToolSpec, tool

__all__ = [
    "ConfigError",
    "Conversation",
    "Engine",
    "EngineConfig",
    "F1Error",
    "GrammarError",
    "ModelError",
    "Plan",
    "PlanError",
    "ReferenceResolutionError",
    "Scheduler",
    "Solution",
    "StartupError",
    "Step",
    "Tool",
    "ToolCallError",
    "ToolPolicy",
    "ToolRegistry",
    "ToolSourceError",
    "ToolSpec",
    "ToolSpecError",
    "Trace",
    "UpstreamError",
    "tool",
]
__version__ = "0.1.0"
