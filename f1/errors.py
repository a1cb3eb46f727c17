"""The exception hierarchy: every error f1 raises on purpose is an `F1Error`, named for what went wrong.

    F1Error                         f1_error
    ├── ConfigError                 config_error                an option, setting or argument f1 cannot use
    ├── StartupError                startup_error               a server or process f1 starts did not come up
    ├── ToolSpecError               tool_spec_error             a malformed tool specification
    ├── ToolSourceError             tool_source_error           a tool source that cannot be read or reached
    ├── ToolCallError               tool_call_error             a tool refused its input or its backend failed
    ├── PlanError                   plan_error                  a plan that cannot be parsed or is invalid
    │   └── ReferenceResolutionError  reference_resolution_error  a `$k.path` with nothing to resolve to
    ├── GrammarError                grammar_error               a schema or grammar decoding cannot be held to
    ├── ModelError                  model_error                 a model that cannot load, or unusable output
    │   └── UpstreamError           upstream_error              a remote model server's unusable reply
    ├── EvalError (evals.core)      eval_error                  bad eval input
    └── APIError (f1.server.errors)                             a request answered with an OpenAI error

`code` is stable: the OpenAI-compatible server answers an engine failure with it (f1/server/errors.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from f1.engine import Solution


class F1Error(Exception):
    """Base class of every error f1 raises on purpose. When the engine fails part-way (the planner or the joiner),
    `partial` holds what it had done: every round so far, with the trace of the steps that ran."""

    code: ClassVar[str] = "f1_error"
    partial: Solution | None = None


class ConfigError(F1Error):
    """An option, setting or argument f1 cannot use: an unknown name (tool set, grammar engine, retrieval method),
    flags that contradict each other, an optional package that is not installed."""

    code = "config_error"


class StartupError(F1Error):
    """A server or process f1 starts did not come up (the address is taken, the process exited)."""

    code = "startup_error"


class ToolSpecError(F1Error):
    """A tool specification is malformed; names the source, the tool and the reason."""

    code = "tool_spec_error"

    def __init__(self, reason: str, *, tool: str | None = None, source: str | None = None) -> None:
        self.reason = reason
        self.tool = tool
        self.source = source
        where = ", ".join(part for part in (f"file {source}" if source else "", f"tool {tool!r}" if tool else "") if part)
        super().__init__(f"{where}: {reason}" if where else reason)


class ToolSourceError(F1Error):
    """A tool source cannot be read or reached: a missing or unparsable tool-set file, a module without tools, an
    MCP server that does not answer."""

    code = "tool_source_error"


class ToolCallError(F1Error):
    """Raised by a tool at call time: it refused its input or its backend failed (an HTTP status, MCP `isError`, a
    bad path...). The scheduler records it as the step's error. `status`: an HTTP status."""

    code = "tool_call_error"

    def __init__(self, reason: str, *, tool: str | None = None, status: int | None = None) -> None:
        self.reason = reason
        self.tool = tool
        self.status = status
        super().__init__(f"{tool}: {reason}" if tool else reason)


class PlanError(F1Error):
    """A plan cannot be parsed or is invalid for the tools it runs against."""

    code = "plan_error"

    def __init__(self, reason: str, *, step: int | None = None) -> None:
        self.reason = reason
        self.step = step
        super().__init__(f"step {step}: {reason}" if step is not None else reason)


class ReferenceResolutionError(PlanError):
    """A `$k.path` reference cannot be resolved against the results at hand."""

    code = "reference_resolution_error"


class GrammarError(F1Error):
    """A schema or grammar constrained decoding cannot be held to: a keyword it cannot enforce, a grammar an engine
    refuses to compile, an engine that needs what the grammar lacks."""

    code = "grammar_error"


class ModelError(F1Error):
    """A planner model cannot be loaded, or produced output that cannot be used."""

    code = "model_error"


class UpstreamError(ModelError):
    """A reply of a remote model server that f1 cannot use. `summary` says where and what (``URL: HTTP 500``);
    `reply` is an excerpt of what the server sent, kept apart so that a caller can leave it out (the OpenAI endpoint
    does: it may hold the upstream's internals)."""

    code = "upstream_error"
    EXCERPT = 200

    def __init__(self, summary: str, reply: str) -> None:
        self.summary = summary
        self.reply = reply[: self.EXCERPT]
        super().__init__(f"{summary}: {self.reply}")
