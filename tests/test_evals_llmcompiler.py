"""ParallelQA / Movie: f1's Engine (planner, scheduler, joiner) against a ReAct loop in the model's native
tool-call format, same model, each with its own simulated search tool."""

from __future__ import annotations

import json

import anyio
import pytest

from evals.core import EvalError
from evals.react import PromptedChat, ReactAgent, TemplateChat, native_call, parse_call, template_ids
from evals.run import evaluate
from evals.search_sim import SimulatedSearch
from evals.suites.llmcompiler import movie_titles
from f1.planner import ChatMessage, ScriptedModel, ToolCall
from f1.tools import ToolRegistry

SCALE = 0.05  # simulated latency 10-50 ms a call

TOOL_TEMPLATE = (
    "{% if tools %}<tools>{% for t in tools %}{{ t | tojson }}\n{% endfor %}</tools>\n{% endif %}"
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}"
    "{% for c in m['tool_calls'] or [] %}<tool_call>{{ c['function'] | tojson }}</tool_call>{% endfor %}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


@pytest.mark.parametrize(("suite", "width"), [("parallelqa", 2), ("movie", 4)])
def test_oracle_times_f1s_scheduler_against_one_call_per_turn(suite, width, tmp_path):
    """The oracle runs the real Engine on a scripted planner: its scheduler runs the searches at once, ReAct one
    after another (the first ParallelQA items need 2 searches, every Movie item 4)."""
    report = evaluate(suite, limit=3, oracle=True, out=tmp_path, progress=False, suite_options={"latency_scale": SCALE})
    metrics = report["metrics"]["oracle"]
    assert metrics["timed_items"] == 3
    assert metrics["mean_f1_searches"] == metrics["mean_react_searches"] == metrics["mean_plan_width"] == width
    assert metrics["f1_answer_accuracy"] == metrics["react_answer_accuracy"] == 1.0
    assert 0.55 * width < metrics["speedup"] <= width + 0.5
    assert (tmp_path / "times.png").exists() and (tmp_path / "latency.png").exists()


def test_the_engine_side_against_react_on_one_scripted_model(tmp_path):
    """`f1 eval parallelqa` on a scripted model: f1 plans three searches and answers right; ReAct makes the same
    searches one per turn and answers wrong. The first item runs once untimed before the timed items."""
    plan = json.dumps({"steps": [{"id": i, "tool": "search", "args": {"query": f"q{i}"}} for i in (1, 2, 3)]})
    answers = ["Mariana Trench", "peregrine falcon"]
    replies = []
    for answer in [answers[0], *answers]:  # warm-up, then the two timed items
        replies += [plan, json.dumps({"action": "finish", "answer": f"It is the {answer}."})]
        replies += [native_call("search", {"query": f"q{i}"}) for i in (1, 2, 3)] + ["I do not know."]
    model = ScriptedModel(replies)
    report = evaluate("parallelqa", limit=2, model=model, out=tmp_path, progress=False, suite_options={"latency_scale": SCALE})
    metrics = report["metrics"]["engine"]
    assert metrics["timed_items"] == 2 and metrics["mean_f1_searches"] == metrics["mean_react_searches"] == 3
    assert metrics["speedup"] > 1.5
    assert report["proportions"]["engine"] == {"f1_answer_accuracy": (2, 2), "react_answer_accuracy": (0, 2)}
    assert metrics["mean_f1_tokens"] > 0 and metrics["mean_react_tokens"] > 0
    assert len(model.calls) == len(replies)  # the warm-up used the same model, and every reply was consumed


def test_simulated_search_is_deterministic():
    one, two = SimulatedSearch(seed=1), SimulatedSearch(seed=1)
    assert one.latency("x") == two.latency("x") and 0.2 <= one.latency("x") <= 1.0
    assert one.page("x") == two.page("x") != one.page("y")
    assert SimulatedSearch(seed=2).latency("x") != one.latency("x")


def test_native_calls_are_parsed_in_each_models_syntax():
    assert parse_call(native_call("search", {"query": "a"})) == ("search", {"query": "a"})
    assert parse_call('<tool_call>\n{"name": "search", "arguments": "{\\"query\\": \\"b\\"}"}\n</tool_call>') == ("search", {"query": "b"})
    assert parse_call('{"name": "search", "parameters": {"query": "c"}}') == ("search", {"query": "c"})  # Llama 3
    assert parse_call("<tool_call>\n{\"name\": \"search\", \"arguments\": {\"query\": \"d\"}}") == ("search", {"query": "d"})  # unclosed
    assert parse_call("The answer is 42.") is None and parse_call('{"answer": 1}') is None


def _agent(replies, **options):
    search = SimulatedSearch(scale=0)
    model = ScriptedModel(replies)
    return ReactAgent(PromptedChat(model), ToolRegistry([search.tool()]), **options), model, search


def test_react_runs_one_call_per_turn_and_feeds_results_back():
    agent, model, search = _agent([native_call("search", {"query": "a"}), native_call("search", {"query": "b"}), "done"])
    run = anyio.run(agent.run, "q")
    assert run.answer == "done" and run.stop == "answered" and [args["query"] for _, args in run.calls] == ["a", "b"]
    assert search.calls == ["a", "b"]
    assert model.calls[1][-1].role == "tool" and "a: measured value" in model.calls[1][-1].content
    assert model.calls[1][-2].tool_calls[0].name == "search"
    assert '"name": "search"' in model.calls[0][0].content  # the tool's signature, in the system message


def test_react_stops_a_repeated_call_and_asks_for_the_answer_without_tools():
    agent, model, search = _agent([native_call("search", {"query": "a"}), native_call("search", {"query": "a"}), "final"])
    run = anyio.run(agent.run, "q")
    assert run.answer == "final" and run.stop == "repeated call" and search.calls == ["a"]
    assert model.calls[-1][-1].content.startswith("Answer the question now") and "Tools" not in model.calls[-1][0].content


def test_react_stops_at_its_turn_budget():
    calls = [native_call("search", {"query": str(i)}) for i in range(3)]
    agent, _, search = _agent([*calls, "best guess"], max_turns=3)
    run = anyio.run(agent.run, "q")
    assert run.stop == "turn budget" and run.answer == "best guess" and len(search.calls) == 3


def test_react_reports_bad_tool_calls_to_the_model():
    agent, model, _ = _agent([native_call("nope", {}), "plain text answer"])
    run = anyio.run(agent.run, "q")
    assert run.answer == "plain text answer" and run.calls == []
    assert "unknown tool 'nope'" in model.calls[1][-1].content


def test_the_chat_template_renders_the_tools_itself():
    from tests.tiny_model import byte_tokenizer

    tokenizer = byte_tokenizer()
    spec = SimulatedSearch().tool().spec
    messages = [
        ChatMessage(role="user", content="q"),
        ChatMessage(role="assistant", tool_calls=[ToolCall(id="c1", name="search", arguments={"query": "a"})]),
        ChatMessage(role="tool", content="a page", tool_call_id="c1", name="search"),
    ]
    with pytest.raises(EvalError, match="no tool-call format"):
        template_ids(tokenizer, messages, [spec])
    tokenizer.chat_template = TOOL_TEMPLATE
    text = tokenizer.decode(template_ids(tokenizer, messages, [spec]))
    assert text.startswith("<tools>" + json.dumps(spec.to_openai()))
    assert '<tool_call>{"name": "search", "arguments": {"query": "a"}}</tool_call>' in text and "a page" in text
    assert "<tools>" not in tokenizer.decode(template_ids(tokenizer, messages, None))


def test_a_local_model_takes_react_turns_through_its_template(tmp_path):
    """The native path end to end on a tiny random local model: prompt tokens are the template's, completions are
    bounded, and an answer (random text) ends the loop or the final turn gives one."""
    from f1.planner import LocalModel
    from tests.tiny_model import byte_tokenizer, save_tiny_dir

    folder = save_tiny_dir(tmp_path / "tiny")
    tokenizer = byte_tokenizer()
    tokenizer.chat_template = TOOL_TEMPLATE
    tokenizer.save_pretrained(folder)
    chat = TemplateChat(LocalModel(str(folder)), max_tokens=8)
    spec = SimulatedSearch().tool().spec
    messages = [ChatMessage(role="user", content="Who?")]
    turn = anyio.run(chat.turn, messages, [spec])
    assert turn.prompt_tokens == len(template_ids(tokenizer, messages, [spec])) and 0 < turn.completion_tokens <= 8
    run = anyio.run(ReactAgent(chat, ToolRegistry([SimulatedSearch(scale=0).tool()]), max_turns=2).run, "Who?")
    assert run.prompt_tokens > turn.prompt_tokens and run.completion_tokens > 0


def test_movie_titles():
    question = "Find a movie similar to Heat, Alien, Up\nOptions:\nA\nB\n"
    assert movie_titles(question) == ["Heat", "Alien", "Up"]
