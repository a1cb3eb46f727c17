"""NESTFUL's official scorer, ported: `calculate_scores` of IBM's NESTFUL repository (src/scorer.py), with the
helpers it calls, `compute_score_sklearn` and `post_process_api_with_args` (src/utils.py) and
`ground_seq_nested_repsonse` (src/output_parsers.py), as read in github.com/IBM/NESTFUL's copy piotrhelm/NESTFUL
(scorer.py at commit 3f951e2). scikit-learn's parts are re-implemented with the same rules: `MultiLabelBinarizer`
fitted on the gold lists (a label only the prediction has is ignored; repeats within an item count once), macro
precision/recall/F1 over those labels (an undefined precision counts as 0), and `accuracy_score` (the share of
equal positions).

Per item, the scorer keeps: the function names (intents) of the predicted and gold calls; per function name seen
in either, the ``"arg = value"`` strings (slots) of its last call in each (values as Python prints the decoded JSON;
a predicted ``"$..."`` reference missing its closing ``$`` gets one); and the partial-match accuracy of the
``name(sorted slots)`` sequences after aligning them by name. Over the split: macro P/R/F1 of intents and of
slots, the mean partial-match accuracy (`accuracy_combined`), and the share of items matched in full
(`percentage_times_full_score`). References are grounded first: a ``"$varN.field$"`` argument names the function
labelled varN instead of its label (the last call with that label). Win rate needs NESTFUL's executable split and
its functions; the glaive split is not executable, so it is not computed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

DUMMY_CALL = {"name": "dummy", "arguments": {}}  # a placeholder some models emit; the scorer skips it


class ItemScore(BaseModel):
    """What the official scorer keeps of one item, for the split-level metrics."""

    pred_intents: list[str]
    gold_intents: list[str]
    slots: list[tuple[list[str], list[str]]]  # (predicted, gold) per function name
    accuracy_combined: float
    parsing_error: bool


def ground(calls: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """`ground_seq_nested_repsonse`: drop the `var_result` entry and labels; a ``"$varN.field$"`` argument (also as
    a list element) names the function labelled varN instead of the label."""
    labels: dict[str, str] = {}
    for call in calls:
        if call["name"] not in ("varResult", "var_result") and "label" in call:
            labels[call["label"].replace("$", "")] = call["name"]
    grounded = []
    for call in calls:
        if call["name"] == "var_result":
            continue
        arguments = call.get("arguments", call.get("parameters", {}))
        out = {}
        for name, value in arguments.items():
            for label, function in labels.items():
                if isinstance(value, str) and _names_label(label, value):
                    value = value.replace(label, function)
                elif isinstance(value, list):
                    value = [entry.replace(label, function) if isinstance(entry, str) and _names_label(label, entry) else entry for entry in value]
            out[name] = value
        grounded.append({"name": call["name"], "arguments": out})
    return grounded


def _names_label(label: str, value: str) -> bool:
    return value.startswith("$var") and "." in value and value.split(".", 1)[0].replace("$", "") == label


def _slot(name: str, value: Any, *, predicted: bool) -> str:
    if predicted and isinstance(value, str) and value.startswith("$") and not value.endswith("$"):
        value += "$"
    return f"{name} = {value}"


def _slots(call: dict[str, Any], *, predicted: bool) -> list[str]:
    return [_slot(name, value, predicted=predicted) for name, value in call["arguments"].items()]


def _signature(call: dict[str, Any], *, predicted: bool) -> str:
    return f"{call['name']}({', '.join(sorted(_slots(call, predicted=predicted)))})"


def score_item(predicted: Sequence[dict[str, Any]] | None, gold: Sequence[dict[str, Any]]) -> ItemScore:
    """One item: `predicted` is the model's call list in NESTFUL's form (with labels), None when it did not parse;
    `gold` the sample's output (with its `var_result` entry)."""
    pred_all = ground(predicted or [])
    pred_calls = [call for call in pred_all if call != DUMMY_CALL]  # the sequence below keeps dummies, as the script
    gold_calls = ground(gold)
    pred_slots = {call["name"]: _slots(call, predicted=True) for call in pred_calls}
    gold_slots = {call["name"]: _slots(call, predicted=False) for call in gold_calls}
    names = {*pred_slots, *gold_slots}
    gold_sequence, pred_sequence = align(
        [_signature(call, predicted=False) for call in gold_calls], [_signature(call, predicted=True) for call in pred_all]
    )
    same = sum(p == g for p, g in zip(pred_sequence, gold_sequence, strict=True))
    return ItemScore(
        pred_intents=[str(call["name"]) for call in pred_calls],
        gold_intents=[str(call["name"]) for call in gold_calls],
        slots=[(pred_slots.get(name, []), gold_slots.get(name, [])) for name in sorted(names)],
        accuracy_combined=same / len(gold_sequence) if gold_sequence else 1.0,  # no gold calls: not in NESTFUL
        parsing_error=predicted is None,
    )


def align(gold: list[str], pred: list[str]) -> tuple[list[str], list[str]]:
    """`post_process_api_with_args`: the gold and predicted signature lists made equal in length. Lists of equal
    length stay as they are; otherwise, walking both, equal names pair up, a gold call the prediction does not
    match at that point pairs with "", and predicted calls left over at the end pair with ""."""
    if len(gold) == len(pred):
        return gold, pred
    gold_names, pred_names = [s.split("(", 1)[0] for s in gold], [s.split("(", 1)[0] for s in pred]
    gold_out: list[str] = []
    pred_out: list[str] = []
    i = j = 0
    while i < len(gold) or j < len(pred):
        if i < len(gold) and j < len(pred) and gold_names[i] == pred_names[j]:
            gold_out.append(gold[i])
            pred_out.append(pred[j])
            i, j = i + 1, j + 1
        elif i < len(gold):
            gold_out.append(gold[i])
            pred_out.append("")
            i += 1
        else:
            gold_out.append("")
            pred_out.append(pred[j])
            j += 1
    return gold_out, pred_out


def macro_scores(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> tuple[float, float, float]:
    """`compute_score_sklearn`: macro precision, recall and F1 over the labels of the gold lists (one sample per
    list; a label counts once per sample; labels only predicted are ignored)."""
    labels = sorted({label for sample in gold for label in sample})
    if not labels:
        return 0.0, 0.0, 0.0
    precision = recall = f1 = 0.0
    for label in labels:
        tp = sum(label in g and label in p for g, p in zip(gold, pred, strict=True))
        fp = sum(label not in g and label in p for g, p in zip(gold, pred, strict=True))
        fn = sum(label in g and label not in p for g, p in zip(gold, pred, strict=True))
        precision += tp / (tp + fp) if tp + fp else 0.0
        recall += tp / (tp + fn) if tp + fn else 0.0
        f1 += 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0
    return precision / len(labels), recall / len(labels), f1 / len(labels)


def calculate_scores(items: Sequence[ItemScore]) -> dict[str, float]:
    """The official metrics over a split, under the official names (numbers, not the script's 3-digit strings)."""
    p_intent, r_intent, f1_intent = macro_scores([i.gold_intents for i in items], [i.pred_intents for i in items])
    slots = [pair for item in items for pair in item.slots]
    p_slot, r_slot, f1_slot = macro_scores([gold for _, gold in slots], [pred for pred, _ in slots])
    count = len(items)
    return {
        "p_intent": p_intent,
        "r_intent": r_intent,
        "f1_intent": f1_intent,
        "p_slot": p_slot,
        "r_slot": r_slot,
        "f1_slot": f1_slot,
        "num_examples": float(count),
        "accuracy_combined": sum(i.accuracy_combined for i in items) / count if count else 0.0,
        "percentage_times_full_score": sum(i.accuracy_combined == 1 for i in items) / count if count else 0.0,
        "num_pred_examples_w_parsing_errors": float(sum(i.parsing_error for i in items)),
    }
