"""AlpacaEval end to end: instructions -> model outputs -> judged against a reference -> leaderboard row.

    notus eval alpaca --model smollm2-135m-instruct --instructions ref.json --reference ref.json \
        --judge-model smollm2-135m-instruct --max-instances 3 --max-new-tokens 64 --output runs/alpaca

Writes `model_outputs.json` (alpaca_eval format: instruction, output, generator, dataset),
`annotations.json` (alpaca_eval annotation format) and `leaderboard.json` into `--output`.
Instructions come from `--instructions` (any model_outputs.json-style file) or the Hub dataset
`tatsu-lab/alpaca_eval` (its `alpaca_eval.json`, 805 rows) when online.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any, TextIO

from notus.core.errors import DataError, NotusError
from notus.eval.files import write_text_atomic


def load_outputs(path: str | Path, what: str, need_output: bool = True) -> list[dict[str, Any]]:
    from notus.eval.alpaca_metrics import read_json_list

    rows = read_json_list(path, what)
    for i, row in enumerate(rows):
        need = ("instruction", "output") if need_output else ("instruction",)
        missing = [k for k in need if not isinstance(row, dict) or not isinstance(row.get(k), str)]
        if missing:
            raise DataError(
                f"{path} row {i}: missing or non-text {', '.join(missing)} (alpaca_eval model_outputs format)"
            )
    return rows


def load_instructions(path: str | None) -> list[dict[str, Any]]:
    """Instructions from a file, or alpaca_eval.json (805 rows) of the Hub dataset tatsu-lab/alpaca_eval."""
    if path:
        return load_outputs(path, "instructions", need_output=False)
    try:
        from huggingface_hub import hf_hub_download

        path = hf_hub_download("tatsu-lab/alpaca_eval", "alpaca_eval.json", repo_type="dataset")
    except Exception as exc:  # offline, no access, or the Hub changed
        raise DataError(
            f"could not load tatsu-lab/alpaca_eval from the Hub ({type(exc).__name__}); pass --instructions "
            "FILE (alpaca_eval model_outputs.json format)"
        ) from None
    return [
        {"instruction": r["instruction"], "dataset": r.get("dataset", "")}
        for r in load_outputs(path, "instructions", False)
    ]


def generate_outputs(
    model_ref: str, instructions: list[dict], max_new_tokens: int, base_url: str | None = None
) -> list[dict[str, Any]]:
    from notus.eval.judges import answerer_from_args
    from notus.llm.contract import GenerationParams

    model = answerer_from_args(model_ref, base_url)
    name = Path(model_ref).name if Path(model_ref).is_dir() else model_ref
    conversations = [[{"role": "user", "content": r["instruction"]}] for r in instructions]
    outs = model.generate(conversations, GenerationParams(max_new_tokens=max_new_tokens, temperature=0.0))
    return [
        {
            "instruction": r["instruction"],
            "output": o.text,
            "generator": name,
            "dataset": r.get("dataset", ""),
        }
        for r, o in zip(instructions, outs, strict=True)
    ]


def _align(rows: list[dict], instructions: list[dict], what: str) -> list[dict]:
    by_instruction = {r["instruction"]: r for r in rows}
    missing = [i for i, r in enumerate(instructions) if r["instruction"] not in by_instruction]
    if missing:
        raise DataError(f"{what} has no output for {len(missing)} instruction(s), e.g. #{missing[0]}")
    return [by_instruction[r["instruction"]] for r in instructions]


def _finite(value: Any) -> Any:
    """`value` with NaN/inf (e.g. a judge server's log-probs) as null, so the file stays strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def _json(rows: list[dict]) -> str:
    return json.dumps(_finite(rows), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def run_alpaca_eval(args: argparse.Namespace, log: TextIO) -> dict[str, dict]:
    from notus.eval.alpaca_judge import annotate
    from notus.eval.alpaca_metrics import leaderboard
    from notus.eval.judges import judge_from_args
    from notus.eval.lc_winrate import add_length_controlled

    if not args.reference:
        raise NotusError("--reference FILE is required: the baseline outputs (model_outputs.json format)")
    out = Path(args.output)  # created by the first write (checked by the CLI to be a folder)
    instructions = load_instructions(args.instructions)[: args.max_instances]
    reference = _align(load_outputs(args.reference, "reference outputs"), instructions, "--reference")
    if args.model:
        outputs = generate_outputs(args.model, instructions, args.max_new_tokens, args.model_base_url)
    else:
        outputs = _align(load_outputs(args.model_outputs, "model outputs"), instructions, "--model-outputs")
    inputs = [p for p in (args.instructions, args.reference, args.model_outputs) if p]
    write_text_atomic(out / "model_outputs.json", _json(outputs), inputs)

    judge = judge_from_args(args, out)
    annotations = annotate(
        judge, instructions, reference, outputs, args.judge_prompt, args.seed, args.judge_max_tokens
    )
    print(judge.summary(), file=log)
    judge.close()
    write_text_atomic(out / "annotations.json", _json(annotations), inputs)
    rows = leaderboard(annotations)
    for model, row in rows.items():
        add_length_controlled(row, model, annotations, args.lc_weights, args.instruction_difficulty)
    print(f"outputs: {out / 'model_outputs.json'}; annotations: {out / 'annotations.json'}", file=log)
    return rows
