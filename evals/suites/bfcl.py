"""BFCL (Berkeley Function-Calling Leaderboard) v4, scored by the unmodified checkers of the `bfcl-eval` package.

The model sees every function of an entry, as in BFCL (multi-turn: up to 39, plus the held-out ones once they are
added), unless `top_k` asks the engine to narrow them by retrieval on the latest user message.

Single-turn categories: our plan becomes BFCL's decoded form ``[{func: {arg: value}}, ...]`` and goes through
`ast_checker`; irrelevance categories pass when the output decodes to no call (a call to a function nobody offered
is a call; output that does not decode is none, as in BFCL), relevance when it decodes to one. Multi-turn
categories: per turn, the model plans, the calls run on BFCL's executable classes (its
`execute_multi_turn_func_call`), results go back to the model until it plans nothing (at most BFCL's 20 rounds a
turn); `multi_turn_checker` then compares state and responses with the ground truth.

The plain baselines (`evals.baselines`, `predict_plain`) run the same: one reply per single-turn item, and per
multi-turn turn the same loop, the calls of each reply executed and their results fed back as tool messages in the
baseline's own format, until a reply calls nothing (a text answer, ``[]``, or output that does not decode, which
ends the turn as in BFCL's inference loop). Both see every function of the entry, also with `top_k`.

The checker imports provider SDKs only through `bfcl_eval.constants.model_config`, so a stub of that module is
installed first (see `_install_model_config_stub`).
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
import types
import uuid
from collections import defaultdict
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from functools import cache
from typing import Any

from evals.baselines import Baseline, Call, Reply, check_calls, plain_prediction, reply_details
from evals.core import EvalError, Item, ItemResult, Prediction, as_fractions, share, window
from evals.engine_adapter import plan_with
from f1.errors import F1Error
from f1.plan import Plan, Step, resolve, validate_plan
from f1.planner import ChatMessage, ToolCall
from f1.tools import ToolSpec

CHECKER_MODEL = "f1-engine"  # our key in MODEL_CONFIG_MAPPING; BFCL maps "_" to "/" in keys, so none here
MAX_ROUNDS_PER_TURN = 20  # BFCL's MAXIMUM_STEP_LIMIT
IRRELEVANCE = ("irrelevance", "live_irrelevance")
RELEVANCE = ("live_relevance",)


@dataclass(frozen=True)
class _CheckerModelConfig:
    """What BFCL's checkers read of a model's config: only `underscore_to_dot` (we keep dotted names)."""

    model_name: str
    display_name: str = "f1"
    is_fc_model: bool = True
    underscore_to_dot: bool = False


def _install_model_config_stub() -> None:
    """Put a `bfcl_eval.constants.model_config` with our model's entry in sys.modules (the real one needs SDKs)."""
    name = "bfcl_eval.constants.model_config"
    module = sys.modules.get(name)
    if module is None:
        module = types.ModuleType(name, "Stub for f1's eval harness: the checker needs only MODEL_CONFIG_MAPPING.")
        module.MODEL_CONFIG_MAPPING = {}  # type: ignore[attr-defined]
        sys.modules[name] = module
    module.MODEL_CONFIG_MAPPING.setdefault(CHECKER_MODEL, _CheckerModelConfig(CHECKER_MODEL))


@cache
def _bfcl() -> types.SimpleNamespace:
    """BFCL's modules, imported once, checker stub first. BFCL writes lock files under BFCL_PROJECT_ROOT."""
    os.environ.setdefault("BFCL_PROJECT_ROOT", os.path.join(tempfile.gettempdir(), "f1-bfcl"))
    _install_model_config_stub()
    try:
        from bfcl_eval import utils
        from bfcl_eval.constants import category_mapping
        from bfcl_eval.constants.default_prompts import DEFAULT_USER_PROMPT_FOR_ADDITIONAL_FUNCTION_FC
        from bfcl_eval.constants.enums import Language
        from bfcl_eval.eval_checker.ast_eval.ast_checker import ast_checker
        from bfcl_eval.eval_checker.multi_turn_eval import multi_turn_utils
        from bfcl_eval.eval_checker.multi_turn_eval.multi_turn_checker import multi_turn_checker
    except ImportError as exc:
        raise EvalError(f"BFCL needs the bfcl-eval package (pip install --no-deps bfcl-eval): {exc}") from None
    return types.SimpleNamespace(
        utils=utils,
        categories=category_mapping,
        Language=Language,
        ast_checker=ast_checker,
        multi_turn_utils=multi_turn_utils,
        multi_turn_checker=multi_turn_checker,
        additional_function_prompt=DEFAULT_USER_PROMPT_FOR_ADDITIONAL_FUNCTION_FC,
    )


def supported_categories() -> list[str]:
    """Single-turn and multi-turn categories (agentic, memory and format-sensitivity ones are out of scope)."""
    mapping = _bfcl().categories
    return [*mapping.SINGLE_TURN_CATEGORY, *mapping.MULTI_TURN_CATEGORY]


def expand_categories(name: str) -> list[str]:
    """A category, a BFCL group ("all", "live", "multi_turn", "python", ...) or a comma-separated list of them."""
    supported = supported_categories()
    groups = _bfcl().categories.TEST_COLLECTION_MAPPING
    out: list[str] = []
    for part in name.split(","):
        if part in groups:
            out += [category for category in groups[part] if category in supported]
        elif part in supported:
            out.append(part)
        else:
            raise EvalError(
                f"unknown BFCL category {part!r}; categories: {', '.join(supported)}; groups: {', '.join(groups)}"
            )
    return list(dict.fromkeys(out))


def is_multi_turn(category: str) -> bool:
    return category.startswith("multi_turn")


def call_string(name: str, args: dict[str, Any], known: AbstractSet[str]) -> str:
    """A call in BFCL's executable form, ``name(a=1,b='x')``, as BFCL's own `convert_to_function_call` writes it.

    BFCL's executor (and its checker, which replays the calls) runs these strings with Python's `eval`; they are
    built here only from a tool name among `known` (the functions offered), identifier argument names and
    JSON-decoded values (whose `repr` is a literal), never from model text.
    """
    if name not in known:
        raise EvalError(f"not an offered BFCL function: {name!r}")
    if not name.isidentifier() or not all(key.isidentifier() for key in args):
        raise EvalError(f"not an executable BFCL call: {name}({', '.join(args)})")
    return f"{name}({','.join(f'{key}={value!r}' for key, value in args.items())})"


def oracle_value(options: list[Any], *, required: bool = False) -> tuple[bool, Any]:
    """(present, value): the first acceptable value of a possible-answer list; "" first means optional -> omit,
    unless the schema requires the parameter and another value is acceptable."""
    chosen = [option for option in options if option != ""] if required else options[:1]
    if not chosen or chosen[0] == "":
        return False, None
    return True, _concrete(chosen[0])


def _concrete(value: Any) -> Any:
    """Nested dicts in possible answers hold option lists per key; lists of dicts hold such dicts."""
    if isinstance(value, dict):
        out = {}
        for key, options in value.items():
            present, chosen = oracle_value(options) if isinstance(options, list) else (True, options)
            if present:
                out[key] = chosen
        return out
    if isinstance(value, list):
        return [_concrete(entry) if isinstance(entry, dict) else entry for entry in value]
    return value


def oracle_plan(
    ground_truth: list[dict[str, dict[str, list[Any]]]],
    functions: Sequence[dict[str, Any]] = (),
    *,
    language: str = "python",
) -> Plan:
    """One concrete step per ground-truth call. For Java/JavaScript, values are written as the source strings BFCL's
    type converters read back (`"true"`, `"5L"`, `new ArrayList<>(Arrays.asList(...))`, ...)."""
    docs = {function["name"]: function.get("parameters", {}) for function in functions}
    steps: list[Step] = []
    for call in ground_truth:
        for name, params in call.items():
            doc = docs.get(name, {})
            args = {}
            for param, options in params.items():
                present, value = oracle_value(options, required=param in doc.get("required", ()))
                if present:
                    prop = doc.get("properties", {}).get(param, {})
                    args[param] = value if language == "python" else source_value(value, prop, language)
            steps.append(Step(id=len(steps) + 1, tool=name, args=args))
    return Plan(steps=steps)


def source_value(value: Any, prop: dict[str, Any], language: str) -> str:
    """A typed gold value as Java or JavaScript source text, the inverse of BFCL's java/js type converters."""
    kind, nested = prop.get("type", "any"), (prop.get("items") or {}).get("type")
    if isinstance(value, str) and (language == "java" or kind != "String"):
        return value  # a Java string, or a variable name standing for a collection (BFCL's "is_variable" case)
    if language == "javascript":
        if kind in ("array", "dict"):
            return _js_literal(value)
        if kind == "String":
            return f'"{value}"'
        if kind == "Bigint":
            return f"{value}n"
        return _js_literal(value)
    if kind == "ArrayList":
        items = ", ".join(_java_element(entry, nested) for entry in value)
        return f"new ArrayList<>(Arrays.asList({items}))" if value else "new ArrayList<>()"
    if kind == "Array":
        return f"new {nested or 'Object'}[] {{{', '.join(_java_scalar(entry, nested) for entry in value)}}}"
    if kind == "HashMap":
        puts = " ".join(f'put("{key}", {_java_element(entry, None)});' for key, entry in value.items())
        return f"new HashMap<String, String>() {{{{ {puts} }}}}"
    return _java_scalar(value, kind)


def _java_scalar(value: Any, kind: str | None) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if kind == "long":
        return f"{value}L"
    if kind == "float":
        return f"{value}f"
    return value if isinstance(value, str) else json.dumps(value)


def _java_element(value: Any, kind: str | None) -> str:
    """An ArrayList/HashMap element: quoted strings and chars; typed scalars when the element type is known."""
    if kind == "char":
        return f"'{value}'"
    if kind == "String" or (kind is None and isinstance(value, str)):
        return f'"{value}"'
    return _java_scalar(value, kind)


def _js_literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f"'{value}'"
    if isinstance(value, list):
        return "[" + ", ".join(_js_literal(entry) for entry in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key}: {_js_literal(entry)}" for key, entry in value.items()) + "}"
    return json.dumps(value)


def plan_to_bfcl(plan: Plan) -> list[dict[str, dict[str, Any]]]:
    """BFCL's decoded single-turn output."""
    return [{step.tool: dict(step.args)} for step in plan.steps]


def specs_of(functions: Sequence[dict[str, Any]]) -> list[ToolSpec]:
    return [ToolSpec.from_bfcl(function, source="bfcl") for function in functions]


def messages_of(turn: Sequence[dict[str, Any]]) -> list[ChatMessage]:
    return [ChatMessage(role=message["role"], content=message.get("content") or "") for message in turn]


class BfclSuite:
    """One or more BFCL categories. `--limit` and `--offset` apply per category; `top_k` (None: all functions)
    lets the engine narrow an entry's functions by retrieval."""

    main_metric = "accuracy"

    def __init__(self, categories: str = "all", *, top_k: int | None = None) -> None:
        if top_k is not None and top_k < 1:
            raise EvalError(f"--top-k must be at least 1, not {top_k}")
        self.categories = expand_categories(categories)
        self.name = f"bfcl:{categories}" if top_k is None else f"bfcl:{categories}@top{top_k}"
        self.top_k = top_k

    def tools_in_prompt(self, items: Sequence[Item]) -> int:
        """`top_k`, or the most functions any entry offers (held-out ones included), so that none is left out."""
        if self.top_k is not None:
            return self.top_k
        return max((_function_count(item.data["entry"]) for item in items), default=1)

    def items(self, limit: int | None = None, offset: int = 0) -> list[Item]:
        bfcl = _bfcl()
        items: list[Item] = []
        for category in self.categories:
            prompts = bfcl.utils.load_dataset_entry(category, include_prereq=False, include_language_specific_hint=True)
            raw = bfcl.utils.load_dataset_entry(category, include_prereq=False, include_language_specific_hint=False)
            answers: dict[str, Any] = {}
            if category not in (*IRRELEVANCE, *RELEVANCE):
                answers = {entry["id"]: entry["ground_truth"] for entry in bfcl.utils.load_ground_truth_entry(category)}
            for prompt, checked in window(list(zip(prompts, raw, strict=True)), limit, offset):
                data = {
                    "category": category,
                    "entry": prompt,
                    "functions": checked["function"],
                    "answer": answers.get(prompt["id"]),
                }
                items.append(Item(id=prompt["id"], data=data))
        return items

    # predictions --------------------------------------------------------------------------------------
    async def oracle(self, item: Item) -> Prediction:
        category, answer = item.data["category"], item.data["answer"]
        if is_multi_turn(category):
            return Prediction(turns=[[list(turn)] if turn else [] for turn in answer])
        if category in IRRELEVANCE:
            return Prediction(plan=Plan())
        if answer is None:
            return Prediction(format_valid=False, error="no ground truth for this category")
        language = {"simple_java": "java", "simple_javascript": "javascript"}.get(category, "python")
        return _checked(oracle_plan(answer, item.data["functions"], language=language), item)

    async def predict(self, factory: Any, item: Item, *, constrained: bool) -> Prediction:
        if is_multi_turn(item.data["category"]):
            return await _MultiTurnRun(factory, item, constrained).run()
        entry = item.data["entry"]
        plan, error = await plan_with(
            factory, messages_of(entry["question"][0]), specs_of(entry["function"]), constrained=constrained
        )
        if plan is None:
            return Prediction(format_valid=False, error=error)
        return _checked(plan, item)

    async def predict_plain(self, baseline: Baseline, item: Item) -> Prediction:
        """A plain baseline (`evals.baselines`) on the item: every function of the entry offered, no grammar."""
        if is_multi_turn(item.data["category"]):
            return await _PlainMultiTurnRun(baseline, item).run()
        entry = item.data["entry"]
        specs = specs_of(entry["function"])
        return plain_prediction(await baseline.reply(messages_of(entry["question"][0]), specs), specs)

    # scoring ----------------------------------------------------------------------------------------------
    def score(self, item: Item, prediction: Prediction) -> dict[str, Any]:
        category = item.data["category"]
        parsed = prediction.details.get("parsed", prediction.plan is not None or prediction.turns is not None)
        base = {"category": category, "format_valid": prediction.format_valid, "parsed": bool(parsed)}
        if is_multi_turn(category):
            return base | _score_multi_turn(item, prediction)
        if category in IRRELEVANCE or category in RELEVANCE:
            # As BFCL: output that decodes to any call is a call, to a function nobody offered too (the plan keeps
            # every decoded call); output that does not decode is no call.
            called = prediction.plan is not None and bool(prediction.plan.steps)
            valid = not called if category in IRRELEVANCE else called
            error_type = (
                None if valid else ("irrelevance_error:decoder_success" if called else "relevance_error:decoder_failed")
            )
            return base | ({"valid": True} if valid else {"valid": False, "error_type": error_type})
        if prediction.plan is None:
            return base | {"valid": False, "error_type": "ast_decoder:decoder_failed", "error": prediction.error}
        bfcl = _bfcl()
        language = {"simple_java": bfcl.Language.JAVA, "simple_javascript": bfcl.Language.JAVASCRIPT}.get(
            category, bfcl.Language.PYTHON
        )
        decoded = plan_to_bfcl(prediction.plan)
        try:
            result = bfcl.ast_checker(
                item.data["functions"], decoded, item.data["answer"], language, category, CHECKER_MODEL
            )
        except Exception as exc:  # BFCL's checker assumes well-typed output; a crash on odd output is a failure
            return base | {
                "valid": False,
                "error_type": "ast_checker:exception",
                "error": f"{type(exc).__name__}: {exc}",
            }
        return base | _verdict(result, "error")

    def proportions(self, results: Sequence[ItemResult]) -> dict[str, tuple[int, int]]:
        by_category: dict[str, list[ItemResult]] = defaultdict(list)
        for result in results:
            by_category[result.scores["category"]].append(result)
        shares = {
            "accuracy": share(results, "valid"),
            "format_validity": share(results, "format_valid"),
            "parsed": (sum(_parsed_output(result) for result in results), len(results)),
        }
        return shares | {f"accuracy/{category}": share(listed, "valid") for category, listed in by_category.items()}

    def summarize(self, results: Sequence[ItemResult]) -> dict[str, float]:
        summary = as_fractions(self.proportions(results))
        categories = [value for name, value in summary.items() if name.startswith("accuracy/")]
        if len(categories) > 1:
            summary["category_mean_accuracy"] = sum(categories) / len(categories)
        return summary


def _parsed_output(result: ItemResult) -> bool:
    """Whether the item's output decoded (results written before this score existed: whether it had a plan)."""
    prediction = result.prediction
    return bool(result.scores.get("parsed", prediction.plan is not None or prediction.turns is not None))


def _verdict(result: dict[str, Any], message_key: str) -> dict[str, Any]:
    """A checker result as our scores: valid, and on failure BFCL's error type and message."""
    if result["valid"]:
        return {"valid": True}
    return {"valid": False, "error_type": result.get("error_type"), "error": result.get(message_key)}


def _function_count(entry: dict[str, Any]) -> int:
    return len(entry["function"]) + sum(len(functions) for functions in entry.get("missed_function", {}).values())


def _checked(plan: Plan, item: Item) -> Prediction:
    """The plan, with `format_valid` telling whether it fits the item's tool schemas (our JSON-schema reading)."""
    error = _schema_error(plan, specs_of(item.data["entry"]["function"]))
    return Prediction(plan=plan, format_valid=error is None, error=error)


def _schema_error(plan: Plan, specs: Sequence[ToolSpec]) -> str | None:
    try:
        validate_plan(plan, {spec.name: spec for spec in specs})
    except F1Error as exc:
        return f"schema: {exc}"
    return None


# multi-turn ---------------------------------------------------------------------------------------------
def _instance_prefix(model_name: str) -> str:
    return re.sub(r"[-./:]", "_", model_name)


def _purge_instances(model_name: str) -> None:
    """BFCL keeps each run's class instances in a module global keyed by model name; drop ours."""
    namespace = vars(_bfcl().multi_turn_utils)
    prefix = _instance_prefix(model_name)
    for key in [key for key in namespace if key.startswith(prefix) and key.endswith("_instance")]:
        del namespace[key]


def _score_multi_turn(item: Item, prediction: Prediction) -> dict[str, Any]:
    answer = item.data["answer"]
    if prediction.turns is None or len(prediction.turns) != len(answer):
        got = "no turns" if prediction.turns is None else f"{len(prediction.turns)} turns"
        return {
            "valid": False,
            "error_type": "multi_turn:force_terminated",
            "error": f"{got} for {len(answer)}; {prediction.error or ''}".strip(),
        }
    model_name = f"f1check{uuid.uuid4().hex[:12]}"
    try:
        result = _bfcl().multi_turn_checker(
            prediction.turns, answer, item.data["entry"], item.data["category"], model_name
        )
    except Exception as exc:  # e.g. BFCL's own assertions on instance sets
        return {"valid": False, "error_type": "multi_turn:checker_exception", "error": f"{type(exc).__name__}: {exc}"}
    finally:
        _purge_instances(model_name)
    return _verdict(result, "error_message")


class _MultiTurnRun:
    """BFCL's multi-turn inference loop with f1 as the model: plan, execute on BFCL's classes, feed results back."""

    def __init__(self, factory: Any, item: Item, constrained: bool) -> None:
        self.factory, self.item, self.constrained = factory, item, constrained
        self.entry = item.data["entry"]
        self.model_name = f"f1infer{uuid.uuid4().hex[:12]}"
        self.valid = True  # every output decoded and fit the functions offered

    def execute(self, calls: list[str]) -> list[str]:
        results, _ = _bfcl().multi_turn_utils.execute_multi_turn_func_call(
            calls,
            self.entry["initial_config"],
            self.entry["involved_classes"],
            self.model_name,
            self.entry["id"],
            long_context="long_context" in self.item.data["category"],
        )
        return results

    async def run(self) -> Prediction:
        specs = specs_of(self.entry["function"])
        missed = self.entry.get("missed_function", {})
        history: list[ChatMessage] = []
        turns: list[list[list[str]]] = []
        try:
            for index, turn in enumerate(self.entry["question"]):
                if str(index) in missed:  # a holdout turn: BFCL adds the functions and says so (FC wording)
                    specs += specs_of(missed[str(index)])
                    turn = [{"role": "user", "content": _bfcl().additional_function_prompt}]
                history += messages_of(turn)
                rounds: list[list[str]] = []
                for _ in range(MAX_ROUNDS_PER_TURN):
                    calls = await self.round(history, specs)
                    if calls is None:  # the model called nothing: the turn is over
                        break
                    rounds.append(calls)
                else:
                    return self.prediction(turns, error=f"force-terminated in turn {index}")
                turns.append(rounds)
        finally:
            _purge_instances(self.model_name)
        return self.prediction(turns)

    def prediction(self, turns: list[list[list[str]]], error: str | None = None) -> Prediction:
        return Prediction(turns=turns, format_valid=self.valid, error=error)

    async def round(self, history: list[ChatMessage], specs: list[ToolSpec]) -> list[str] | None:
        """One model round: the calls it ran (as BFCL call strings), None when it planned nothing; `history` gets
        the round's messages."""
        plan, error = await plan_with(self.factory, history, specs, constrained=self.constrained)
        if plan is None:  # output that does not decode ends the turn, as in BFCL
            self.valid = False
            history.append(ChatMessage(role="assistant", content=f"(unusable output: {error})"))
            return None
        if not plan.steps:  # the turn ends; the next request must not follow the last one unanswered
            history.append(ChatMessage(role="assistant", content=plan.model_dump_json()))
            return None
        self.valid = self.valid and error is None and _schema_error(plan, specs) is None
        return self._run_plan(plan, history, {spec.name for spec in specs})

    def _run_plan(self, plan: Plan, history: list[ChatMessage], known: AbstractSet[str]) -> list[str]:
        """Run the steps in order (references resolved against earlier results); record calls and results. A step
        naming a function not offered (the plain model's output) is answered with an error and never run."""
        results: dict[int, Any] = {}
        calls: list[str] = []
        tool_calls: list[ToolCall] = []
        outputs: list[ChatMessage] = []
        for step in plan.steps:
            try:
                args = resolve(step.args, results)
                call = call_string(step.tool, args, known)
                output = self.execute([call])[0]
                calls.append(call)
            except F1Error as exc:
                args, output = dict(step.args), f"Error: {exc}"
            results[step.id] = _parsed(output)
            call_id = f"call_{len(history)}_{step.id}"
            tool_calls.append(ToolCall(id=call_id, name=step.tool, arguments=args))
            outputs.append(ChatMessage(role="tool", content=output, tool_call_id=call_id, name=step.tool))
        history += [ChatMessage(role="assistant", tool_calls=tool_calls), *outputs]
        return calls


class _PlainMultiTurnRun(_MultiTurnRun):
    """The same loop with a plain baseline as the model: each reply's calls run in order (a function not offered,
    or arguments that are not an executable call, get an error result and are never run, as BFCL's executor
    answers a call it cannot run), and go back to the model in the baseline's own format."""

    def __init__(self, baseline: Baseline, item: Item) -> None:
        super().__init__(None, item, constrained=False)
        self.baseline = baseline
        self.replies: list[Reply] = []
        self.problems: list[str] = []  # what did not decode or fit, reply by reply

    def prediction(self, turns: list[list[list[str]]], error: str | None = None) -> Prediction:
        first = self.problems[0] if self.problems else None
        return Prediction(
            turns=turns, format_valid=self.valid, error=error or first, details=reply_details(self.replies)
        )

    async def round(self, history: list[ChatMessage], specs: list[ToolSpec]) -> list[str] | None:
        reply = await self.baseline.reply(history, specs, multi_turn=True)
        self.replies.append(reply)
        problem = reply.error or check_calls(reply.calls, specs)
        if problem is not None:
            self.valid = False
            self.problems.append(problem)
        if not reply.calls:  # a text answer, [] or output that does not decode: the turn ends, as in BFCL
            history += self.baseline.record(reply, [], number=len(history))
            return None
        known = {spec.name for spec in specs}
        calls: list[str] = []
        results: list[str] = []
        for call in reply.calls:
            executed, output = self._run_call(call, known)
            if executed is not None:
                calls.append(executed)
            results.append(output)
        history += self.baseline.record(reply, results, number=len(history))
        return calls

    def _run_call(self, call: Call, known: AbstractSet[str]) -> tuple[str | None, str]:
        name, args = call
        try:
            executable = call_string(name, args, known)
        except EvalError as exc:
            return None, f"Error: {exc}"
        return executable, self.execute([executable])[0]


def _parsed(output: str) -> Any:
    """BFCL returns results as JSON text (or plain text); references walk into the parsed JSON."""
    try:
        return json.loads(output)
    except ValueError:
        return output
