"""`f1 bench NAME --markdown`: the table and the scalar numbers as Markdown, for docs."""

from __future__ import annotations

from f1.bench import markdown_report


def test_markdown_report_has_the_table_then_the_numbers() -> None:
    text = markdown_report({"table": [{"path": "onnx-int8", "tok_s": 41.25}], "speedup": 4.5, "nested": {"a": 1}})
    assert text.splitlines() == [
        "| path | tok_s |",
        "|---|---|",
        "| onnx-int8 | 41.25 |",
        "",
        "| measure | value |",
        "|---|---|",
        "| speedup | 4.5 |",
    ]
