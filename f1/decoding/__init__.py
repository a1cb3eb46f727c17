"""Grammar-constrained decoding: plan/call/joiner grammars, grammar engines, the generation loop, step streaming.

Only light modules are imported here; torch and the engines load when used.
"""

from f1.decoding.grammar import (
    Grammar,
    call_grammar,
    joiner_grammar,
    parallel_calls_grammar,
    plan_grammar,
    text_grammar,
)
from f1.decoding.steps import StepStream, stream_steps

__all__ = [
    "Grammar",
    "StepStream",
    "call_grammar",
    "joiner_grammar",
    "parallel_calls_grammar",
    "plan_grammar",
    "stream_steps",
    "text_grammar",
]
