"""Plans: the DAG of tool calls a planner emits and the scheduler runs."""

from f1.plan.model import Plan, Step
from f1.plan.refs import Ref, iter_refs, parse_ref, resolve
from f1.plan.text import parse_text_plan
from f1.plan.validate import parse_plan_json, plan_from_data, validate_args, validate_plan, validate_step

__all__ = [
    "Plan",
    "Ref",
    "Step",
    "iter_refs",
    "parse_plan_json",
    "parse_ref",
    "parse_text_plan",
    "plan_from_data",
    "resolve",
    "validate_args",
    "validate_plan",
    "validate_step",
]
