"""Document converters and the TruthfulQA MC2 metric for notus' offline lm-eval task YAMLs.

The local files use the benchmarks' original formats (ARC JSONL with question.stem, HellaSwag JSONL,
TruthfulQA mc_task.json with {answer: label} dicts); these functions turn them into the fields the
Hub versions of the tasks use, so prompts match lm-eval's own task definitions.
"""

import math
import re


def arc_docs(dataset):
    def convert(doc):
        labels = [c["label"] for c in doc["question"]["choices"]]
        return {
            "question": doc["question"]["stem"],
            "choices": {"text": [c["text"] for c in doc["question"]["choices"]], "label": labels},
            "answerKey": doc["answerKey"],
        }

    return dataset.map(convert, remove_columns=dataset.column_names)


def _clean_hellaswag(text):
    text = text.strip().replace(" [title]", ". ")
    text = re.sub(r"\[.*?\]", "", text)
    return text.replace("  ", " ")


def hellaswag_docs(dataset):
    def convert(doc):
        context = doc["ctx_a"] + " " + doc["ctx_b"].capitalize()
        return {
            "query": _clean_hellaswag(doc["activity_label"] + ": " + context),
            "choices": [_clean_hellaswag(e) for e in doc["endings"]],
            "label": int(doc["label"]),
        }

    return dataset.map(convert)


def truthfulqa_docs(dataset):
    def convert(doc):
        targets = {k: v for k, v in doc["mc2_targets"].items() if v is not None}
        return {
            "question": doc["question"],
            "choices": list(targets),
            "labels": [int(v) for v in targets.values()],
        }

    return dataset.map(convert, remove_columns=dataset.column_names)


def truthfulqa_mc2(doc, results):
    """MC2: the share of probability mass (over all answer options) on the true answers."""
    loglikelihoods = [r[0] for r in results]
    top = max(loglikelihoods)
    probs = [math.exp(x - top) for x in loglikelihoods]
    true_mass = sum(p for p, label in zip(probs, doc["labels"]) if label == 1)
    return {"acc": true_mass / sum(probs)}
