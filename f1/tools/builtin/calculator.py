"""A calculator that parses arithmetic with `ast` and walks a small whitelist of nodes; nothing is `eval`ed.

Nothing it allows can run long: every operation whose cost grows with its operands is guarded before it runs
(`**` by its exponent and result size, `round` by its digit count), every integer is at most `MAX_INT_BITS` bits
(variables and results alike), and the whitelist holds no shifts, factorials, combinatorics or strings."""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable
from typing import Any

from f1.errors import ToolCallError
from f1.tools.builtin._common import with_examples
from f1.tools.registry import tool

MAX_EXPRESSION_CHARS = 500
MAX_EXPONENT = 10_000
MAX_INT_BITS = 4096  # larger integers would make every further step slow; results beyond this are refused
MAX_ROUND_DIGITS = 1300  # more than a MAX_INT_BITS integer has: round(1, -10**7) would compute 10**(10**7)

Number = int | float

_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY: dict[type[ast.unaryop], Callable[[Any], Any]] = {ast.UAdd: operator.pos, ast.USub: operator.neg}
_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "abs": abs,
    "round": round,
    "min": min,
    "max": max,
    "sqrt": math.sqrt,
    "exp": math.exp,
    "log": math.log,
    "log10": math.log10,
    "log2": math.log2,
    "sin": math.sin,
    "cos": math.cos,
    "tan": math.tan,
    "asin": math.asin,
    "acos": math.acos,
    "atan": math.atan,
    "floor": math.floor,
    "ceil": math.ceil,
    "hypot": math.hypot,
    "radians": math.radians,
    "degrees": math.degrees,
}
_CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e, "tau": math.tau}


def evaluate(expression: str, variables: dict[str, Number] | None = None) -> Number:
    """Evaluate an arithmetic expression; `variables` names extra numbers. Raises `ToolCallError`."""
    if len(expression) > MAX_EXPRESSION_CHARS:
        raise ToolCallError(f"expression longer than {MAX_EXPRESSION_CHARS} characters", tool="calculate")
    names = dict(_CONSTANTS)
    for name, value in (variables or {}).items():
        if not name.isidentifier() or name in _FUNCTIONS:
            raise ToolCallError(f"bad variable name {name!r}", tool="calculate")
        what = f"variable {name!r}"
        names[name] = _check_size(_number(value, what), what)
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError as exc:
        raise ToolCallError(f"cannot parse {expression!r}: {exc.msg}", tool="calculate") from None
    except (RecursionError, MemoryError):
        raise ToolCallError("the expression is nested too deeply", tool="calculate") from None
    try:
        result = _eval(tree.body, names)
    except ZeroDivisionError:
        raise ToolCallError("division by zero", tool="calculate") from None
    except (OverflowError, ValueError, TypeError) as exc:
        raise ToolCallError(f"{exc}", tool="calculate") from None
    except RecursionError:
        raise ToolCallError("the expression is nested too deeply", tool="calculate") from None
    if isinstance(result, float) and not math.isfinite(result):
        raise ToolCallError("the result is not a finite number", tool="calculate")
    return result


def _number(value: Any, what: str) -> Number:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ToolCallError(f"{what} must be a number, not {value!r}", tool="calculate")
    return value


def _eval(node: ast.AST, names: dict[str, Number]) -> Number:
    if isinstance(node, ast.Constant):
        return _number(node.value, "a literal")
    if isinstance(node, ast.Name):
        if node.id not in names:
            raise ToolCallError(f"unknown name {node.id!r}", tool="calculate")
        return names[node.id]
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_eval(node.operand, names))
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _eval(node.left, names), _eval(node.right, names)
        if isinstance(node.op, ast.Pow):
            _check_power(left, right)
        return _check_size(_BINARY[type(node.op)](left, right))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS:
        if node.keywords:
            raise ToolCallError("functions take positional arguments only", tool="calculate")
        args = [_eval(arg, names) for arg in node.args]
        if node.func.id == "round" and len(args) == 2:
            _check_round_digits(args[1])
        return _check_size(_FUNCTIONS[node.func.id](*args))
    what = node.func.id if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) else type(node).__name__
    raise ToolCallError(f"not allowed in an arithmetic expression: {what}", tool="calculate")


def _check_power(base: Number, exponent: Number) -> None:
    if abs(exponent) > MAX_EXPONENT:
        raise ToolCallError(f"exponent {exponent} is larger than {MAX_EXPONENT}", tool="calculate")
    if isinstance(base, int) and isinstance(exponent, int) and exponent > 0 and abs(base) > 1:
        if exponent * math.log2(abs(base)) > MAX_INT_BITS:
            raise ToolCallError(f"{base} ** {exponent} is too large", tool="calculate")


def _check_round_digits(digits: Number) -> None:
    if isinstance(digits, int) and abs(digits) > MAX_ROUND_DIGITS:
        raise ToolCallError(f"round to {digits} digits: at most {MAX_ROUND_DIGITS} either way", tool="calculate")


def _check_size(value: Any, what: str = "the result") -> Number:
    if isinstance(value, complex):
        raise ToolCallError(f"{what} is a complex number", tool="calculate")
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        raise ToolCallError(f"{what} is too large (more than {MAX_INT_BITS} bits)", tool="calculate")
    return value


# `variables` is not Optional: an anyOf schema would hide "$k" references inside it from the plan validator.
@with_examples({"expression": "2 * (3 + 4) ** 2"}, {"expression": "a - b", "variables": {"a": 9, "b": 1}})
@tool(idempotent=True, read_only=True, timeout=5)
def calculate(expression: str, variables: dict[str, float] = {}) -> float:  # noqa: B006 (never mutated)
    """Evaluate an arithmetic expression: + - * / // % **, parentheses, pi, e and functions such as sqrt, log,
    sin, round, min, max. Use variables to bring earlier results into the expression.

    Args:
        expression: the arithmetic expression, e.g. "2 * (3 + 4)" or "a - b".
        variables: numbers to use by name in the expression, e.g. {"a": 9, "b": 1}.
    """
    return evaluate(expression, variables)


TOOLS = [calculate]
