"""`notus eval mt-bench`: answers (generated or read), FastChat single-answer judging, scores and a radar plot.

    notus eval mt-bench --answers model_answer/mistral-orpo.jsonl --questions question.jsonl \
        --reference-answers reference_answer/gpt-4.jsonl --judge-base-url http://127.0.0.1:8000/v1
    notus eval mt-bench --model smollm2-135m-instruct --judge-model smollm2-135m-instruct --max-questions 3 ...
    notus eval mt-bench --judgments model_judgment/gpt-4_single.jsonl --json      # scores only
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from notus.core.errors import NotusError
from notus.core.runs import write_jsonl
from notus.eval.files import distinct_inputs, output_folder, strict_json, summarize, write_text_atomic


def _select(questions: list[dict], args: argparse.Namespace) -> list[dict]:
    if args.question_ids:
        wanted = {int(x) if x.strip().isdigit() else x.strip() for x in args.question_ids.split(",")}
        unknown = wanted - {q["question_id"] for q in questions}
        if unknown:
            raise NotusError(f"--question-ids: {sorted(unknown, key=str)} not in the questions file")
        questions = [q for q in questions if q["question_id"] in wanted]
    return questions[: args.max_questions] if args.max_questions else questions


def _print_table(table: dict[str, dict]) -> None:
    def f(x: float | None) -> str:
        return "   -  " if x is None else f"{x:6.3f}"

    print(f"{'model':40s} {'turn 1':>6s} {'turn 2':>6s} {'overall':>7s}  judgments  no rating")
    for model, row in sorted(table.items(), key=lambda kv: -(kv[1]["overall"] or 0)):
        print(
            f"{model:40s} {f(row['turn_1'])} {f(row['turn_2'])} {f(row['overall']):>7s}"
            f"  {row['n_judgments']:9d}  {row['n_failed']:9d}"
        )


def main(args: argparse.Namespace) -> int:
    from notus.eval.mt_bench import build_requests, judge_answers, load_answers, load_questions
    from notus.eval.mt_bench_scores import (
        is_no_rating,
        load_judgments,
        mt_bench_scores,
        radar_plot,
        score_problem,
    )

    out = output_folder(args.output)
    log = sys.stderr if args.json else sys.stdout
    if sum(bool(x) for x in (args.model, args.answers, args.judgments)) != 1:
        raise NotusError("give exactly one of --model (generate answers), --answers FILE or --judgments FILE")
    questions = load_questions(args.questions) if (args.questions or not args.judgments) else []
    categories = {q["question_id"]: q["category"] for q in questions}

    inputs = [*(args.judgments or []), *(args.answers or []), args.questions, args.reference_answers]
    if args.judgments:
        records, invalid = load_judgments(args.judgments, allow_empty=args.allow_empty)
    else:
        questions = _select(questions, args)
        if args.model:
            from notus.eval.judges import answerer_from_args
            from notus.eval.mt_bench_generate import generate_answers

            model_id = args.model_id or Path(args.model).name
            answers = generate_answers(
                answerer_from_args(args.model, args.model_base_url), questions, model_id, args.max_new_tokens
            )
            write_jsonl(out / "model_answer" / f"{model_id}.jsonl", answers)
            print(f"answers: {out / 'model_answer' / f'{model_id}.jsonl'}", file=log)
        else:
            answers = [a for path in distinct_inputs(args.answers, "--answers") for a in load_answers(path)]
        refs = None
        if args.reference_answers:
            refs = {r["question_id"]: r for r in load_answers(args.reference_answers)}
        requests = build_requests(questions, answers, refs)
        if not requests:
            raise NotusError("no answer matches the selected questions: check --answers and --question-ids")

        from notus.eval.judges import judge_from_args

        judge = judge_from_args(args, out)
        judge_name = Path(args.judge_model).name if Path(args.judge_model).is_dir() else args.judge_model
        records = judge_answers(judge, judge_name, requests, args.judge_max_tokens)
        path = out / "model_judgment" / f"{judge_name.replace('/', '_')}_single.jsonl"
        write_jsonl(path, records)
        print(f"judgments: {path}", file=log)
        print(judge.summary(), file=log)
        judge.close()
        invalid = [
            f"question {r['question_id']} turn {r['turn']} of {r['model']}: {why}"
            for r in records
            if (why := score_problem(r)) is not None and not is_no_rating(r)
        ]

    table = mt_bench_scores(records, categories)
    no_rating = sum(row["n_failed"] - row["n_invalid"] for row in table.values())
    if no_rating:
        print(f"{no_rating} judgment(s) gave no [[rating]] (score -1): reported, not scored", file=log)
    if invalid:
        print(
            f"{len(invalid)} judgment(s) have an invalid score or turn: counted as failed, not scored: "
            f"{summarize(invalid)}",
            file=log,
        )
    write_text_atomic(out / "scores.json", strict_json(table) + "\n", inputs=[p for p in inputs if p])
    if any(row["categories"] for row in table.values()):
        print(f"radar plot: {radar_plot(table, out / 'radar.png')}", file=log)
    else:
        print("no radar plot: no scored judgment with a known category", file=log)
    if args.json:
        print(strict_json(table))
    else:
        _print_table(table)
    return 0
