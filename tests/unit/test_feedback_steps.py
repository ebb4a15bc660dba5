"""generate -> rate -> binarize with fake models (a model is anything with `generate`): the raw
UltraFeedback schema exactly, ratings and raw judge text, resume after a crash without repeating a
request, and a recipe whose column contracts fail before any model loads."""

from __future__ import annotations

import json
import re

import pytest

from notus.core.errors import DataError, NotusError, RecipeError
from notus.core.runs import read_jsonl
from notus.data.binarize import binarize
from notus.feedback.generate import GenerateConfig, generate
from notus.feedback.rate import RateConfig, rate
from notus.feedback.store import load_prompts
from notus.llm.cache import CachedModel
from notus.llm.contract import BACKENDS, Completion

PROMPTS = [
    {"source": "t", "instruction": f"Question {i}?", "correct_answers": [], "incorrect_answers": []}
    for i in range(5)
]
COMPLETION_KEYS = {"model", "principle", "custom_system_prompt", "response", "annotations", "critique",
                   "overall_score", "fine-grained_score"}  # fmt: skip
ROW_KEYS = {"source", "instruction", "models", "completions", "correct_answers", "incorrect_answers"}


class FakeWriter:
    """Answers with the system prompt's first word and the question; counts requests; can crash."""

    def __init__(self, name="writer", crash_after=None):
        self.name, self.calls, self.crash_after = name, 0, crash_after

    def generate(self, conversations, params):
        out = []
        for conv in conversations:
            if self.crash_after is not None and self.calls >= self.crash_after:
                raise RuntimeError("simulated crash")
            self.calls += 1
            out.append(
                Completion(
                    f"{self.name} {conv[0]['content'].split()[0]} {conv[-1]['content']} s{params.seed}"
                )
            )
        return out


class FakeJudge:
    """UltraFeedback-style answers; ratings 1-5 by response order; honesty says N/A for text 2;
    helpfulness answers in prose (unparseable) so failures are recorded, not invented."""

    name = "judge"

    def __init__(self):
        self.calls = 0

    def generate(self, conversations, params):
        self.calls += len(conversations)
        return [Completion(self.answer(c[-1]["content"])) for c in conversations]

    def answer(self, prompt):
        if "Overall score: X" in prompt:
            return "Be more specific.\nOverall score: 6"
        n = len(re.findall(r"^<text \d+>", prompt, re.MULTILINE))
        if prompt.startswith("# Helpfulness"):
            return "These are all fine answers."
        blocks = []
        for i in range(1, n + 1):
            rating = "N/A" if prompt.startswith("# Honesty") and i == 2 else str(i)
            typed = prompt.startswith("# Truthfulness")
            head = "Type: 1, 3\nRationale: types\n" if typed else ""
            blocks.append(f"#### Output for Text {i}\n{head}Rating: {rating}\nRationale: reason {i}\n")
        return "\n".join(blocks)


def test_generate_records_models_principles_and_schema(tmp_path):
    config = GenerateConfig(models=["a", "b"], n=4, max_new_tokens=8)
    models = {"a": FakeWriter("a"), "b": FakeWriter("b")}
    assert generate(PROMPTS, models, config, str(tmp_path / "g.jsonl"), progress=False) == 5
    rows = read_jsonl(tmp_path / "g.jsonl")
    assert [r["instruction"] for r in rows] == [p["instruction"] for p in PROMPTS]
    for row in rows:
        assert set(row) == ROW_KEYS and row["models"] == ["a", "b", "a", "b"]
        assert [c["principle"] for c in row["completions"]] == list(config.principles)
        for c in row["completions"]:
            assert set(c) == COMPLETION_KEYS
            assert c["response"].startswith(c["model"]) and row["instruction"] in c["response"]
            assert c["custom_system_prompt"].split()[0] in c["response"]
    assert models["a"].calls == models["b"].calls == 10


def test_rate_fills_raw_ultrafeedback_schema_and_keeps_raw_text(tmp_path):
    generate(
        PROMPTS[:2],
        {"w": FakeWriter("w")},
        GenerateConfig(models=["w"], n=3),
        str(tmp_path / "g.jsonl"),
        progress=False,
    )
    judge, critic = FakeJudge(), FakeJudge()
    config = RateConfig(critique=True, overall=True)
    rate(
        read_jsonl(tmp_path / "g.jsonl"),
        judge,
        config,
        str(tmp_path / "r.jsonl"),
        progress=False,
        critic=critic,
    )
    assert (judge.calls, critic.calls) == (2 * (4 + 1), 2 * 3)  # per prompt: 4 aspects + overall; 3 critiques
    rows = read_jsonl(tmp_path / "r.jsonl")
    c0, c1 = rows[0]["completions"][:2]
    assert set(rows[0]) == ROW_KEYS and set(c0) == COMPLETION_KEYS
    assert c0["annotations"]["instruction_following"] == {"Rating": "1", "Rationale": "reason 1"}
    assert c1["annotations"]["honesty"] == {"Rating": "N/A", "Rationale": "reason 2"}
    assert c0["annotations"]["truthfulness"] == {
        "Type": ["1", "3"], "Rationale": "types", "Rating": "1", "Rationale For Rating": "reason 1"
    }  # fmt: skip
    assert c0["annotations"]["helpfulness"]["Rating"] is None  # unparsed: no rating, not a guess
    assert c0["critique"] == "Be more specific." and c0["overall_score"] == 6.0
    assert c1["fine-grained_score"] == 2.0  # mean of 2 (IF) and 2 (truthfulness); N/A and unparsed left out
    judgments = read_jsonl(tmp_path / "r.jsonl.judgments.jsonl")
    helpful = [j for j in judgments if j["kind"] == "helpfulness"]
    assert helpful[0]["raw"] == "These are all fine answers."
    assert {r["status"] for r in helpful[0]["ratings"]} == {"unparsed"}
    assert [r["status"] for j in judgments if j["kind"] == "honesty" for r in j["ratings"]][:3] == [
        "ok",
        "na",
        "ok",
    ]
    pairs, stats = binarize(rows, "notus", seed=0)
    assert stats.rows_in == 2 and pairs and pairs[0]["prompt"][0]["content"] == rows[0]["instruction"]


def test_crash_and_resume_repeats_no_request(tmp_path):
    out, cache = tmp_path / "g.jsonl", tmp_path / "g.jsonl.cache.sqlite"
    config = GenerateConfig(models=["w"], n=2, batch_prompts=2)
    crashing = FakeWriter("w", crash_after=5)  # dies inside the 2nd chunk (prompts 2-3)
    with pytest.raises(RuntimeError):
        generate(PROMPTS, {"w": CachedModel(crashing, cache, chunk_size=1)}, config, str(out), progress=False)
    assert len(read_jsonl(out)) == 2
    with out.open("a") as fh:
        fh.write('{"source": "t", "instruc')  # a line cut by a kill
    again = FakeWriter("w")
    generate(PROMPTS, {"w": CachedModel(again, cache, chunk_size=1)}, config, str(out), progress=False)
    assert crashing.calls + again.calls == len(PROMPTS) * 2  # every request made exactly once
    fresh = tmp_path / "fresh.jsonl"
    generate(PROMPTS, {"w": FakeWriter("w")}, config, str(fresh), progress=False)
    assert read_jsonl(out) == read_jsonl(fresh)


def test_resume_refuses_other_settings_or_input(tmp_path):
    out = str(tmp_path / "g.jsonl")
    generate(PROMPTS[:2], {"w": FakeWriter("w")}, GenerateConfig(models=["w"], n=2), out, progress=False)
    with pytest.raises(NotusError, match="other settings"):
        generate(PROMPTS[:2], {"w": FakeWriter("w")}, GenerateConfig(models=["w"], n=3), out, progress=False)
    other = [dict(p, instruction="different") for p in PROMPTS[:2]]
    with pytest.raises(NotusError, match="does not match input row 1"):
        generate(other, {"w": FakeWriter("w")}, GenerateConfig(models=["w"], n=2), out, progress=False)


def test_prompt_files_and_their_errors(tmp_path):
    (tmp_path / "p.csv").write_text("prompt,source\nHello?,csv\n")
    assert load_prompts(str(tmp_path / "p.csv"))[0] == {
        "source": "csv", "instruction": "Hello?", "correct_answers": [], "incorrect_answers": []
    }  # fmt: skip
    (tmp_path / "p.json").write_text(json.dumps([{"prompt": [{"role": "user", "content": "Hi"}]}]))
    assert load_prompts(str(tmp_path / "p.json"))[0]["instruction"] == "Hi"
    (tmp_path / "bad.jsonl").write_text('{"instruction": "ok"}\n{"text": "no prompt"}\n')
    with pytest.raises(DataError, match=r"bad.jsonl:2: field 'instruction' is missing"):
        load_prompts(str(tmp_path / "bad.jsonl"))
    with pytest.raises(DataError, match="does not exist"):
        load_prompts(str(tmp_path / "missing.jsonl"))


class CountingBackend(FakeWriter):
    loads = 0

    def __init__(self, ref, **options):
        CountingBackend.loads += 1
        super().__init__(ref)


if "fake-test" not in BACKENDS:
    BACKENDS.register("fake-test")(CountingBackend)


def test_recipe_contracts_fail_before_any_model_loads(tmp_path):
    from notus.core.config import load_recipe
    from notus.feedback.pipeline import FeedbackRecipe, run_pipeline

    (tmp_path / "p.jsonl").write_text('{"instruction": "Hi"}\n')
    recipe = load_recipe(
        FeedbackRecipe, None,
        [f"prompts={tmp_path / 'p.jsonl'}", f"output_dir={tmp_path / 'run'}", "backend=fake-test",
         "judge_backend=nope", "binarize.strategy=zephyr"],
    )  # fmt: skip
    with pytest.raises(RecipeError) as err:
        run_pipeline(recipe, progress=False)
    text = str(err.value)
    assert "unknown backend 'nope'" in text
    assert "needs field 'completions[].overall_score'" in text  # zephyr needs the critique step
    assert CountingBackend.loads == 0 and not (tmp_path / "run").exists()
    with pytest.raises(RecipeError, match="unknown key"):
        load_recipe(FeedbackRecipe, None, ["prompts=x", "generate.nn=2"])


@pytest.mark.parametrize("name", ["cpu.yaml", "ultrafeedback-7b.yaml"])
def test_shipped_recipes_load_and_pass_their_contracts(name):
    from pathlib import Path

    from notus.core.config import load_recipe
    from notus.feedback.pipeline import FeedbackRecipe, contract_problems

    root = Path(__file__).resolve().parents[2]
    recipe = load_recipe(FeedbackRecipe, root / "recipes" / "feedback" / name)
    assert contract_problems(recipe) == []
    if name == "cpu.yaml":
        assert len(load_prompts(str(root / recipe.prompts), limit=recipe.limit)) == 20
