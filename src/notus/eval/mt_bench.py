"""MT-Bench single-answer grading, following FastChat's llm_judge exactly.

    notus eval mt-bench --answers model_answer/mistral-orpo.jsonl --questions question.jsonl \
        --reference-answers reference_answer/gpt-4.jsonl --judge-model gpt-4 --output runs/mt_bench

- Prompts: FastChat's four single-answer judge prompts (package data `templates/
  mt_bench_single_judge_prompts.jsonl`, byte-identical to FastChat's judge_prompts.jsonl):
  `single-v1` (turn 1), `single-v1-multi-turn` (turn 2), and the reference-based `single-math-v1`
  and `single-math-v1-multi-turn` for the categories in `NEED_REF_CATS`. The judge gets
  [system prompt, user prompt] at temperature 0 with at most 2048 new tokens.
- Parsing: the first `[[rating]]`, else the first `[rating]`; no rating -> score -1 (counted and
  reported as a failure, never scored).
- Output: one FastChat model_judgment record per (question, model, turn) in
  `OUTPUT/model_judgment/<judge>_single.jsonl`.
"""

from __future__ import annotations

import ast
import json
import re
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from notus.core.errors import DataError
from notus.eval.files import brief, read_jsonl, summarize
from notus.llm.contract import GenerationParams

NEED_REF_CATS = ("math", "reasoning", "coding", "arena-hard-200")
# FastChat gen_model_answer's sampling temperature per category (0.7 for any other category).
TEMPERATURE_BY_CATEGORY = {
    "writing": 0.7,
    "roleplay": 0.7,
    "extraction": 0.0,
    "math": 0.0,
    "coding": 0.0,
    "reasoning": 0.0,
    "stem": 0.1,
    "humanities": 0.1,
    "arena-hard-200": 0.0,
}
DEFAULT_TEMPERATURE = 0.7
JUDGE_PARAMS = GenerationParams(max_new_tokens=2048, temperature=0.0)
FAILED_SCORE = -1
ONE_SCORE = re.compile(r"\[\[(\d+\.?\d*)\]\]")
ONE_SCORE_BACKUP = re.compile(r"\[(\d+\.?\d*)\]")
HUB_QUESTIONS = "HuggingFaceH4/mt_bench_prompts"


def judge_prompts() -> dict[str, dict[str, str]]:
    """FastChat's single-answer judge prompts by name."""
    text = resources.files("notus.eval").joinpath("templates/mt_bench_single_judge_prompts.jsonl").read_text()
    return {d["name"]: d for d in (json.loads(line) for line in text.splitlines() if line.strip())}


def _is_text_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(t, str) for t in value)


def read_jsonl_file(path: str | Path, required: tuple[str, ...], what: str) -> list[dict[str, Any]]:
    """JSONL rows with the fields a FastChat file must have; all problems in one error naming file and line."""
    rows, problems = [], []
    for n, row in read_jsonl(path, what):
        missing = [k for k in required if k not in row]
        qid = row.get("question_id")
        if missing:
            problems.append(
                f"{path}:{n}: missing field(s) {', '.join(missing)} of the FastChat {what} format"
            )
        elif isinstance(qid, bool) or not isinstance(qid, int | str):
            problems.append(f"{path}:{n}: field `question_id` is {brief(qid)}, not an integer or a string")
        elif "category" in required and not isinstance(row["category"], str):
            problems.append(f"{path}:{n}: field `category` is {brief(row['category'])}, not a string")
        elif "turns" in required and not _is_text_list(row["turns"]):
            problems.append(f"{path}:{n}: field `turns` must be a non-empty list of strings")
        elif "choices" in required and not _answer_turns(row):
            problems.append(
                f"{path}:{n}: field `choices` must be a list whose first item has `turns`, "
                "a non-empty list of strings"
            )
        else:
            rows.append(row)
    if problems:
        raise DataError(f"{len(problems)} problem(s) in the {what} file: {summarize(problems)}")
    if not rows:
        raise DataError(f"{path}: no {what} rows; give a non-empty file")
    return rows


def _answer_turns(row: dict[str, Any]) -> list[str] | None:
    """`choices[0].turns` of a FastChat answer when it is a non-empty list of strings, else None."""
    choices = row.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        return None
    turns = choices[0].get("turns")
    return turns if _is_text_list(turns) else None


def load_questions(path: str | Path | None) -> list[dict[str, Any]]:
    """FastChat question.jsonl rows, or the 80 questions from the Hub when no file is given."""
    if path is not None:
        return read_jsonl_file(path, ("question_id", "category", "turns"), "MT-Bench question")
    from datasets import load_dataset

    try:
        rows = load_dataset(HUB_QUESTIONS, split="train")
    except Exception as exc:  # offline, no access, or the Hub changed
        raise DataError(
            f"could not load MT-Bench questions from the Hub ({HUB_QUESTIONS}: {type(exc).__name__}); "
            "pass --questions FILE (FastChat's question.jsonl)"
        ) from None
    return [{"question_id": r["prompt_id"], "category": r["category"], "turns": r["prompt"]} for r in rows]


def load_answers(path: str | Path) -> list[dict[str, Any]]:
    """FastChat model_answer rows (`question_id, model_id, choices[0].turns`)."""
    return read_jsonl_file(path, ("question_id", "model_id", "choices"), "model_answer")


def rating_from_judgment(judgment: str) -> int | float:
    """FastChat's rule: `[[x]]`, else `[x]`, parsed as a Python number; -1 when neither is found."""
    match = ONE_SCORE.search(judgment) or ONE_SCORE_BACKUP.search(judgment)
    if not match:
        return FAILED_SCORE
    try:
        return ast.literal_eval(match.group(1))
    except (ValueError, SyntaxError):
        return FAILED_SCORE


@dataclass
class JudgeRequest:
    question_id: Any
    model: str
    turn: int
    prompt_name: str
    system_prompt: str
    user_prompt: str

    def messages(self) -> list[dict[str, str]]:
        return [
            {"role": "system", "content": self.system_prompt},
            {"role": "user", "content": self.user_prompt},
        ]


def build_requests(
    questions: list[dict], answers: list[dict], references: dict[Any, dict] | None
) -> list[JudgeRequest]:
    """One judge request per (answer, turn), with FastChat's prompt for the question's category."""
    prompts = judge_prompts()
    by_id = {q["question_id"]: q for q in questions}
    requests = []
    for answer in answers:
        qid = answer["question_id"]
        question = by_id.get(qid)
        if question is None:
            continue  # an answer to a question outside the chosen subset
        turns = answer["choices"][0]["turns"]
        needs_ref = question["category"] in NEED_REF_CATS
        ref_turns: list[str] = []
        if needs_ref:
            if references is None or qid not in references:
                raise DataError(
                    f"question {qid} ({question['category']}) is graded against a reference answer: pass "
                    "--reference-answers (FastChat reference_answer/gpt-4.jsonl) covering it"
                )
            ref_turns = references[qid]["choices"][0]["turns"]
            if len(ref_turns) < min(len(question["turns"]), len(turns), 2):
                raise DataError(
                    f"question {qid}: the reference answer has {len(ref_turns)} turn(s), fewer than the "
                    "answer to grade; use FastChat's two-turn reference_answer/gpt-4.jsonl"
                )
        for turn in range(1, min(len(question["turns"]), len(turns), 2) + 1):
            name = ("single-math-v1" if needs_ref else "single-v1") + ("-multi-turn" if turn == 2 else "")
            template = prompts[name]
            refs = {}
            if needs_ref:
                refs = {"ref_answer_1": ref_turns[0]}
                if turn == 2:
                    refs["ref_answer_2"] = ref_turns[1]
            if turn == 1:
                user = template["prompt_template"].format(
                    question=question["turns"][0], answer=turns[0], **refs
                )
            else:
                user = template["prompt_template"].format(
                    question_1=question["turns"][0],
                    question_2=question["turns"][1],
                    answer_1=turns[0],
                    answer_2=turns[1],
                    **refs,
                )
            requests.append(
                JudgeRequest(qid, answer["model_id"], turn, name, template["system_prompt"], user)
            )
    return requests


def judge_answers(
    judge: Any, judge_name: str, requests: list[JudgeRequest], max_tokens: int | None = None
) -> list[dict[str, Any]]:
    """Send every request to the judge; FastChat model_judgment records (score -1 when unparsed)."""
    params = (
        JUDGE_PARAMS if max_tokens is None else GenerationParams(max_new_tokens=max_tokens, temperature=0.0)
    )
    completions = judge.generate([r.messages() for r in requests], params)
    records = []
    for request, completion in zip(requests, completions, strict=True):
        records.append(
            {
                "question_id": request.question_id,
                "model": request.model,
                "judge": [judge_name, request.prompt_name],
                "user_prompt": request.user_prompt,
                "judgment": completion.text,
                "score": rating_from_judgment(completion.text),
                "turn": request.turn,
                "tstamp": time.time(),
            }
        )
    return records
