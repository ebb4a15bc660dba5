"""Rate completions with an AI judge, UltraFeedback-style, into the raw openbmb/UltraFeedback schema.

    notus feedback rate generated.jsonl -o rated.jsonl --judge smollm2-135m-instruct --backend llamacpp \
        --aspects all --critique

Per prompt, one judge request per aspect rates all its completions at once (as UltraFeedback did),
plus optionally the single overall-rating prompt and one critique request per completion (feedback
and an `Overall score` 1-10 -> `critique`, `overall_score`). `fine-grained_score` is the mean of
the numeric aspect ratings. A rating the parser cannot read is `null` (no rating; "N/A" is a
rating). Every judge answer is kept raw, beside its parsed ratings and parse status, in
`<output>.judgments.jsonl`; the rated rows themselves keep exactly the raw UltraFeedback schema.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from notus.core.errors import DataError, NotusError
from notus.core.runs import atomic_write, strict_json
from notus.core.types import ASPECTS
from notus.data import numbers
from notus.feedback.parse import AspectRating, parse_aspect, parse_critique
from notus.feedback.prompts import (
    TYPED_ASPECTS,
    aspect_conversation,
    critique_conversation,
    critique_grammar,
    ratings_schema,
)
from notus.feedback.store import ResumableOutput
from notus.llm.contract import GenerationParams, Model

NEEDS = ("instruction", "completions[].response")
PRODUCES = ("completions[].annotations", "completions[].fine-grained_score")
PRODUCES_CRITIQUE = ("completions[].critique", "completions[].overall_score")


@dataclass
class RateConfig:
    judge: str = "smollm2-135m-instruct"
    aspects: list[str] = field(default_factory=lambda: list(ASPECTS))
    overall: bool = False  # the single overall-rating prompt (kept in the judgments file)
    critique: bool = False  # critique + overall_score per completion
    json_mode: bool = False  # ask for JSON ratings; constrained to ratings_schema(n) on llamacpp
    max_new_tokens: int = 512
    critique_max_new_tokens: int = 256
    seed: int = 42
    batch_prompts: int = 4

    def check(self) -> list[str]:
        bad = [a for a in self.aspects if a not in ASPECTS]
        problems = [f"aspects: {a!r} is not one of {', '.join(ASPECTS)} (or 'all')" for a in bad]
        if not (self.aspects or self.overall or self.critique):
            problems.append("nothing to rate: give aspects, overall or critique")
        return problems + numbers.problems(
            numbers.in_range("max_new_tokens", self.max_new_tokens, 1, integer=True),
            numbers.in_range("critique_max_new_tokens", self.critique_max_new_tokens, 1, integer=True),
            numbers.in_range("batch_prompts", self.batch_prompts, 1, integer=True),
            numbers.in_range("seed", self.seed, 0, integer=True),
        )


def check_rows(rows: list[dict[str, Any]], where: str) -> None:
    """The column contract of the rate step, checked before the judge is loaded."""
    for n, row in enumerate(rows, 1):
        completions = row.get("completions")
        if not isinstance(row.get("instruction"), str) or not row["instruction"].strip():
            raise DataError(
                f"{where} row {n}: field 'instruction' is missing or empty (needs: {', '.join(NEEDS)})"
            )
        if not isinstance(completions, list) or not completions:
            raise DataError(
                f"{where} row {n}: field 'completions' must be a non-empty list; run `notus feedback generate` first"
            )
        for j, c in enumerate(completions):
            if not isinstance(c, dict) or not isinstance(c.get("response"), str):
                raise DataError(
                    f"{where} row {n}: completions[{j}].response is missing; every completion needs a text"
                )


def annotation(aspect: str, parsed: AspectRating) -> dict[str, Any]:
    """One aspect's entry in `annotations`, shaped as in openbmb/UltraFeedback."""
    if aspect in TYPED_ASPECTS:
        return {
            "Type": parsed.types or [],
            "Rationale": parsed.type_rationale,
            "Rating": parsed.rating,
            "Rationale For Rating": parsed.rationale,
        }
    return {"Rating": parsed.rating, "Rationale": parsed.rationale}


def fine_grained(annotations: dict[str, Any]) -> float | None:
    values = [float(a["Rating"]) for a in annotations.values() if a["Rating"] not in (None, "N/A")]
    return sum(values) / len(values) if values else None


def _requests(row: dict[str, Any], config: RateConfig) -> list[tuple[str, int | None, list[dict]]]:
    responses = [c["response"] for c in row["completions"]]
    kinds = [*config.aspects, *(["overall"] if config.overall else [])]
    out = [(k, None, aspect_conversation(k, row["instruction"], responses, config.json_mode)) for k in kinds]
    if config.critique:
        out += [
            ("critique", j, critique_conversation(row["instruction"], r)) for j, r in enumerate(responses)
        ]
    return out


def rate_row(
    row: dict[str, Any], answers: list[str], config: RateConfig, index: int
) -> tuple[dict, list[dict]]:
    """The rated row and its judgment records (raw judge text + parsed ratings + status)."""
    n = len(row["completions"])
    completions = [dict(c, annotations={}) for c in row["completions"]]
    judgments = []
    for (kind, j, _), raw in zip(_requests(row, config), answers, strict=True):
        record: dict[str, Any] = {"row": index, "instruction": row["instruction"], "kind": kind, "raw": raw}
        if kind == "critique":
            critique = parse_critique(raw)
            completions[j]["critique"] = critique.feedback
            completions[j]["overall_score"] = critique.score
            record.update(
                completion=j, score=critique.score, status=critique.status, problem=critique.problem
            )
        else:
            parsed = parse_aspect(raw, n, "instruction_following" if kind == "overall" else kind)
            if kind != "overall":
                for c, p in zip(completions, parsed, strict=True):
                    c["annotations"][kind] = annotation(kind, p)
            record["ratings"] = [
                {"rating": p.rating, "status": p.status, "problem": p.problem, "types": p.types}
                for p in parsed
            ]
        judgments.append(record)
    for c in completions:
        c["fine-grained_score"] = fine_grained(c["annotations"])
    return dict(row, completions=completions), judgments


def judge_and_critic(
    load: Callable[..., Model], json_judge: bool, config: RateConfig, n_texts: int | None
) -> tuple[Model, Model | None]:
    """The rate step's judge and critic, opened by `load(**options)`. With structured output
    (`json_judge`: json_mode on llama.cpp) the judge is constrained to `ratings_schema(n_texts)` and the
    critic to `critique_grammar` (a paragraph, then `Overall score: X`), so even a tiny judge yields
    readable ratings and scores; otherwise one free-text model is both."""
    if not json_judge:
        model = load()
        return model, model
    chars = max(40, 3 * (config.critique_max_new_tokens - 8))  # ~3 characters a token: the score fits
    critic = load(grammar=critique_grammar(chars)) if config.critique else None
    return load(json_schema=ratings_schema(n_texts)), critic


def rate(
    rows: list[dict[str, Any]],
    judge: Model,
    config: RateConfig,
    output: str,
    indices: list[int] | None = None,
    progress: bool = True,
    critic: Model | None = None,
) -> int:
    """Append one rated row per input row to `output` (resuming it); returns the rows rated now.

    `critic` answers the critique requests (default: the judge); it differs from the judge when the
    judge is constrained to JSON ratings (`json_mode` on a backend with structured output).
    """
    problems = config.check()
    if problems:
        raise NotusError("; ".join(problems))
    indices = indices if indices is not None else list(range(len(rows)))
    out = ResumableOutput(output, {"step": "rate", **asdict(config)}, [r["instruction"] for r in rows])
    judgments_path = Path(f"{output}.judgments.jsonl")
    kept = []
    if judgments_path.exists():  # drop records of rows whose rated line was not written before a kill
        done = set(indices[: out.done])
        kept = [
            line for line in judgments_path.read_text("utf-8").splitlines() if json.loads(line)["row"] in done
        ]
    with atomic_write(judgments_path) as fh:
        fh.write("".join(line + "\n" for line in kept))
    aspect_params = GenerationParams(max_new_tokens=config.max_new_tokens, temperature=0.0, seed=config.seed)
    critique_params = GenerationParams(
        max_new_tokens=config.critique_max_new_tokens, temperature=0.0, seed=config.seed
    )
    todo = list(out.todo())
    bar = tqdm(total=len(rows), initial=out.done, desc="rate", unit="prompt", disable=not progress)
    with judgments_path.open("a", encoding="utf-8") as jf:
        for start in range(0, len(todo), config.batch_prompts):
            chunk = todo[start : start + config.batch_prompts]
            requests = {i: _requests(rows[i], config) for i in chunk}
            flat = [(i, k) for i in chunk for k in range(len(requests[i]))]
            answers: dict[tuple[int, int], str] = {}
            for params, is_critique in ((aspect_params, False), (critique_params, True)):
                batch = [(i, k) for i, k in flat if (requests[i][k][0] == "critique") == is_critique]
                if batch:
                    model = (critic or judge) if is_critique else judge
                    outs = model.generate([requests[i][k][2] for i, k in batch], params)
                    answers.update({key: o.text for key, o in zip(batch, outs, strict=True)})
            for i in chunk:
                rated, records = rate_row(
                    rows[i], [answers[i, k] for k in range(len(requests[i]))], config, indices[i]
                )
                jf.write("".join(strict_json(r, str(judgments_path)) + "\n" for r in records))
                jf.flush()
                out.append(rated)
                bar.update(1)
    bar.close()
    out.close()
    return len(todo)
