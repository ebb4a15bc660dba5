#!/usr/bin/env python3
"""Generate ``src/notus/data/samples/ultrafeedback_mini.jsonl``.

A small dataset in the *raw* openbmb/UltraFeedback row schema, for tests, docs
and smoke runs.  Every prompt, completion, note and rationale below was written
by hand by the notus developers; nothing is copied from UltraFeedback or any
other public dataset.  Only the layout of a row follows the UltraFeedback
schema.

The texts live in ``scripts/uf_sample/prompts.jsonl``; the generator is deterministic
(``random.Random(0)``) and takes the schema's names from ``notus.core.types``::

    python scripts/make_uf_sample.py            # (re)writes the file
    python scripts/make_uf_sample.py --check    # regenerate in memory, compare

Each prompt carries four completions, each written to a quality tier:

* ``A``  a genuinely good answer
* ``B``  a mediocre answer (correct but thin, vague or slightly off)
* ``C``  a wrong / hallucinated answer
* ``D``  an off-topic or too-terse answer
* ``T``  "all fine" answers, used for rows where every completion ties

The aspect ratings come from per-tier rating profiles (or an explicit profile
written next to the completion), so they match the text.  The generator then
shuffles the completions, assigns model names and principles, and derives the
``overall_score`` so that, in about half of the rows, the completion with the
best ``overall_score`` is *not* the one with the best mean aspect rating, as in
the real dataset (including the "critique rating 1 recorded as 10.0" bug).
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

from notus.core.types import ASPECTS, NOT_APPLICABLE, PRINCIPLES  # the schema's names, from notus itself

ROOT = Path(__file__).resolve().parents[1]
OUT_PATH = ROOT / "src" / "notus" / "data" / "samples" / "ultrafeedback_mini.jsonl"

NA = NOT_APPLICABLE


# --------------------------------------------------------------------------- #
# the hand-written prompts and completions: scripts/uf_sample/prompts.jsonl, one prompt a line:
#   source, instruction, completions[4]{tier, text, note?, prof?, tt?}, correct, incorrect, flags
# tier: A good, B mediocre (note: what is thin), C wrong (note, tt: truthfulness Type codes),
#       D off-topic or too terse, T "all fine" (rows where every completion ties);
# prof: an explicit rating profile (instruction_following, honesty, truthfulness, helpfulness);
# flags: "na_h"   honesty is N/A for every completion (creative / opinion task)
#        "tie"    the two A completions are equally good -> identical profile
#        "alltie" every completion is fine -> profiles with the same mean
# --------------------------------------------------------------------------- #
PROMPTS_PATH = ROOT / "scripts" / "uf_sample" / "prompts.jsonl"


def load_prompts(path=PROMPTS_PATH):
    prompts = []
    for line in path.read_text(encoding="utf-8").splitlines():
        p = json.loads(line)
        assert len(p["completions"]) == 4, p["instruction"]
        p["completions"] = [{"note": None, "prof": None, "tt": None, **c} for c in p["completions"]]
        p["flags"] = set(p["flags"])
        prompts.append(p)
    return prompts


PROMPTS = load_prompts()

# --------------------------------------------------------------------------- #
# rating profiles: (instruction_following, honesty, truthfulness, helpfulness)
# --------------------------------------------------------------------------- #
PROFILES = {
    "A": [(5, 5, 5, 5), (5, 5, 5, 4), (4, 5, 5, 5), (5, 4, 5, 5)],
    "B": [(4, 4, 4, 3), (3, 4, 4, 3), (4, 3, 4, 3), (4, 4, 5, 3)],
    "C": [(2, 2, 1, 1), (2, 1, 1, 1), (3, 2, 2, 2), (2, 2, 2, 1)],
    "D": [(1, 3, 4, 1), (2, 3, 3, 2), (1, 4, 4, 1), (2, 4, 3, 1)],
    "T": [(5, 5, 4, 4), (4, 5, 5, 4), (5, 4, 5, 4), (4, 4, 5, 5), (5, 5, 5, 3)],  # every mean is 4.5
}

MODELS = [
    "gpt-4",
    "gpt-3.5-turbo",
    "llama-2-13b-chat",
    "llama-2-70b-chat",
    "llama-2-7b-chat",
    "wizardlm-7b",
    "wizardlm-13b",
    "wizardlm-70b",
    "alpaca-7b",
    "falcon-40b-instruct",
    "mpt-30b-chat",
    "starchat",
    "vicuna-33b",
    "ultralm-13b",
    "ultralm-65b",
    "pythia-12b",
    "bard",
]

SYSTEM_PROMPTS = {
    "helpfulness": [
        "You are a helpful assistant. Give answers that are accurate, relevant and useful to the user.",
        "As an AI assistant, aim to make every answer informative and easy to act on.",
    ],
    "honesty": [
        "You are an honest assistant. If you are not sure about something, say so instead of guessing.",
        "As an AI assistant, be truthful and admit openly when you do not know the answer.",
    ],
    "truthfulness": [
        "You are a truthful assistant. State only facts you are confident about and never invent details.",
        "As an AI assistant, ground your answers in verified facts and point out false assumptions in a question.",
    ],
    "verbalized_calibration": [
        "You are a careful assistant. End your answer with your confidence as a percentage, e.g. 'Confidence: 80%'.",
        "As an AI assistant, express how certain you are: finish with a line 'Confidence: N%'.",
    ],
}

CONFIDENCE = {"A": [90, 95], "T": [90, 95], "B": [70, 80], "C": [80, 85, 90], "D": [60, 70]}

# rationale texts, keyed by rating
IF_TXT = {
    5: "Fully aligned with the instruction: it addresses the task and respects the requested format.",
    4: "Addresses the task well, with minor deviations from what was asked.",
    3: "Partially complies: the task is addressed, but some requirements are missed.",
    2: "Addresses the task poorly; key requirements are not met.",
    1: "Irrelevant to the instruction.",
}
HON_TXT = {
    5: "Correct and confident, without unwarranted hedging.",
    4: "Correct, but the confidence is not fully justified or it hedges slightly.",
    3: "Does not commit to a clear, well-supported answer; partially informative.",
    2: "Confident but contains significant mistakes.",
    1: "Confidently incorrect.",
}
HON_NA = "Honesty and expression of uncertainty are not applicable to this creative task."
TRU_TXT = {
    5: "No hallucination.",
    4: "Insignificant hallucination that does not affect the main points.",
    3: "Partial hallucination or misunderstanding of the instruction.",
    2: "Severe hallucination: a large part deviates from the facts or the input.",
    1: "Completely hallucinated.",
}
HELP_TXT = {
    5: "Outstandingly helpful: accurate, in-depth and concise.",
    4: "Highly informative and accurate, with some room for more depth.",
    3: "Correct but limited; meets the basic requirements.",
    2: "Partially incorrect or unhelpful; may cause confusion.",
    1: "Severely incorrect or irrelevant.",
}
HELP_TYPE_TXT = {
    "1": "clear and relevant",
    "2": "useful and comprehensive",
    "3": "concise and free of repetition",
}

CRITIQUES = {
    "A": [
        "Your answer is accurate, well organised and directly addresses the question. Keep this level of clarity.",
        "Excellent answer: correct and clearly explained. It could hardly be more concise without losing content.",
        "Well done — the response is accurate and relevant. A short example could make it even more engaging.",
    ],
    "T": [
        "Your answer is correct and to the point. It fully meets the instruction.",
        "Good, accurate response. Adding a brief justification would make it slightly more helpful.",
        "The answer is right and clearly stated; nothing important is missing.",
    ],
    "B": [
        "Your answer {note}. It is on the right track; add more explanation to make it fully helpful.",
        "The response {note}. It is usable, yet a more complete answer would serve the user better.",
        "Partly good: the answer {note}. Try to cover the key points of the question explicitly.",
    ],
    "C": [
        "Your answer {note}. Double-check facts and calculations before answering.",
        "The response {note}, which makes it misleading. Verify the key claim and correct it.",
        "Unfortunately the answer {note}. Please review the question carefully and fix the error.",
    ],
    "D": [
        "Your response {note}. Focus on the user's question and answer it directly.",
        "The answer {note}, so it is not useful here. Read the instruction again and respond to it.",
        "This response {note}. A relevant, complete answer is needed.",
    ],
}


def fmt(r):
    return NA if r == NA else str(r)


def mean_of(ratings):
    nums = [r for r in ratings if r != NA]
    return sum(nums) / len(nums)


def build_completion(rng, spec, profile, model, principle, na_honesty):
    tier, note = spec["tier"], spec["note"]
    if_r, hon_r, tru_r, help_r = profile
    if na_honesty:
        hon_r = NA
    text = spec["text"]
    conf = None
    if principle == "verbalized_calibration" and not na_honesty:
        conf = rng.choice(CONFIDENCE[tier])
        text = f"{text}\nConfidence: {conf}%"
    extra = f" The response {note}." if note else ""

    # instruction following
    inst = {"Rating": fmt(if_r), "Rationale": IF_TXT[if_r] + (extra if if_r <= 4 else "")}

    # honesty
    if hon_r == NA:
        hon = {"Rating": NA, "Rationale": HON_NA}
    else:
        rat = HON_TXT[hon_r]
        if conf is not None:
            rat += f" It states {conf}% confidence" + (", which is unjustified." if tier == "C" else ".")
        hon = {"Rating": fmt(hon_r), "Rationale": rat}

    # truthfulness
    if spec["tt"] is not None and tru_r <= 3:
        ttype = list(spec["tt"])
    elif tru_r >= 4:
        ttype = ["0"]
    elif tier == "D":
        ttype = ["2"]
    else:
        ttype = ["1"]
    if tru_r == 5:
        t_rat = "The response contains no factual errors and is consistent with the instruction."
    elif tru_r == 4:
        t_rat = "The response contains no real factual errors." + (extra if note else "")
    else:
        t_rat = f"The response {note}." if note else "The response contains errors."
    tru = {"Type": ttype, "Rationale": t_rat, "Rating": fmt(tru_r), "Rationale For Rating": TRU_TXT[tru_r]}

    # helpfulness
    if help_r == 5:
        htype = ["1", "2", "3"]
    elif help_r == 4:
        htype = ["1", "2"]
    elif help_r == 3:
        htype = ["1", "3"]
    elif help_r == 2:
        htype = ["1"] if tier != "D" else ["3"]
    else:
        htype = ["None"] if tier == "D" else ["1"]
    if htype == ["None"]:
        h_rat = "The response is neither relevant nor informative." + extra
    else:
        parts = [HELP_TYPE_TXT[t] for t in htype]
        joined = "; ".join(parts)
        h_rat = "The response is " + joined + "." + (extra if help_r <= 4 else "")
    hel = {"Type": htype, "Rationale": h_rat, "Rating": fmt(help_r), "Rationale For Rating": HELP_TXT[help_r]}

    critique = rng.choice(CRITIQUES[tier]).format(note=note or "")
    fine = mean_of([if_r, hon_r, tru_r, help_r])
    return {
        "model": model,
        "principle": principle,
        "custom_system_prompt": rng.choice(SYSTEM_PROMPTS[principle]),
        "response": text,
        "annotations": {
            "instruction_following": inst,
            "honesty": hon,
            "truthfulness": tru,
            "helpfulness": hel,
        },
        "critique": critique,
        "overall_score": None,  # filled in by assign_overall
        "fine-grained_score": fine,
    }


def half_round(x):
    return max(1.0, min(10.0, round(x * 2) / 2))


def aspect_ratings(comp):
    return [comp["annotations"][a]["Rating"] for a in ASPECTS]


def numeric_mean(comp):
    return mean_of([r if r == NA else int(r) for r in aspect_ratings(comp)])


def assign_overall(rng, comps, mode):
    """Set overall_score for the four completions.

    mode "agree":  the unique best overall_score goes to the first completion with the best mean rating.
    mode "invert": a worse completion (by mean) gets the unique best overall_score.
    mode "bug10":  a completion whose aspects are all 1-2 gets 10.0 (critique rating 1 recorded as 10).
    Returns the index of the completion with the best overall_score.
    """
    means = [numeric_mean(c) for c in comps]
    top = max(means)
    top_idx = [i for i, m in enumerate(means) if m == top]
    o = [half_round(1.8 * m + 0.5 + rng.choice([-1.0, -0.5, 0.0, 0.0, 0.5])) for m in means]
    if mode == "agree":
        t = top_idx[0]
        o[t] = max(o[t], min(10.0, max(o[j] for j in range(4) if j != t) + 0.5))
    elif mode == "invert":
        others = [i for i in range(4) if i not in top_idx]
        mids = [i for i in others if comps[i]["_tier"] == "B"]
        t = rng.choice(mids) if mids and rng.random() < 0.65 else rng.choice(others)
        for i in top_idx:
            o[i] = half_round(o[i] - rng.choice([1.0, 1.5, 2.0, 2.5]))
        o[t] = half_round(max(o[j] for j in range(4) if j != t) + rng.choice([0.5, 1.0, 1.5]))
    elif mode == "bug10":
        lows = [i for i in range(4) if all(r == NA or int(r) <= 2 for r in aspect_ratings(comps[i]))]
        t = rng.choice(lows)
        o[t] = 10.0
    else:
        raise ValueError(mode)
    for j in range(4):  # make the winner unique
        if j != t and o[j] >= o[t]:
            o[j] = o[t] - 0.5
    for c, s in zip(comps, o):
        c["overall_score"] = float(s)
    return t


def build_rows():
    rng = random.Random(0)
    rows, meta = [], []
    for p in PROMPTS:
        specs = list(p["completions"])
        flags = p["flags"]
        na_h = "na_h" in flags
        # one shared profile for the tied A completions
        tie_prof = rng.choice(PROFILES["A"])
        t_profs = rng.sample(PROFILES["T"], 4)
        profiles = []
        for k, s in enumerate(specs):
            if s["prof"] is not None:
                profiles.append(s["prof"])
            elif s["tier"] == "T":
                profiles.append(t_profs[k])
            elif s["tier"] == "A" and "tie" in flags:
                profiles.append(tie_prof)
            else:
                profiles.append(rng.choice(PROFILES[s["tier"]]))
        order = list(range(4))
        rng.shuffle(order)
        models = rng.sample(MODELS, 4)
        comps = []
        for pos, k in enumerate(order):
            principle = rng.choice(PRINCIPLES)
            c = build_completion(rng, specs[k], profiles[k], models[pos], principle, na_h)
            c["_tier"] = specs[k]["tier"]
            comps.append(c)
        rows.append(
            {
                "source": p["source"],
                "instruction": p["instruction"],
                "models": models,
                "completions": comps,
                "correct_answers": p["correct"],
                "incorrect_answers": p["incorrect"],
            }
        )
        meta.append(p)

    # decide which rows get an overall_score that disagrees with the aspect ratings
    eligible = [i for i, p in enumerate(meta) if "alltie" not in p["flags"]]
    disagree = set(rng.sample(eligible, 34))
    has_low = [
        i
        for i in sorted(disagree)
        if any(all(r == NA or int(r) <= 2 for r in aspect_ratings(c)) for c in rows[i]["completions"])
    ]
    bug = set(rng.sample(has_low, 6))
    for i, row in enumerate(rows):
        mode = "bug10" if i in bug else ("invert" if i in disagree else "agree")
        assign_overall(rng, row["completions"], mode)
        for c in row["completions"]:
            del c["_tier"]
    return rows


# --------------------------------------------------------------------------- #
# checks
# --------------------------------------------------------------------------- #
VALID = {"1", "2", "3", "4", "5", NA}


def stats(rows):
    ties, na_rows, mismatch, mismatch_np, all_tie, bug10, invert = [], [], [], [], [], [], []
    for i, row in enumerate(rows):
        comps = row["completions"]
        means = [numeric_mean(c) for c in comps]
        top = max(means)
        top_idx = [j for j, m in enumerate(means) if m == top]
        overall = [c["overall_score"] for c in comps]
        o_best = overall.index(max(overall))  # first index, like numpy.argmax
        m_best = means.index(top)
        if len(top_idx) >= 2:
            ties.append(i)
        if len(set(means)) == 1:
            all_tie.append(i)
        if any(NA in aspect_ratings(c) for c in comps):
            na_rows.append(i)
        if o_best not in top_idx:
            mismatch.append(i)
        if o_best != m_best:
            mismatch_np.append(i)
        if any(
            c["overall_score"] == 10.0 and all(r == NA or int(r) <= 2 for r in aspect_ratings(c))
            for c in comps
        ):
            bug10.append(i)
        elif o_best not in top_idx:
            invert.append(i)
    return {
        "rows": len(rows),
        "ties": ties,
        "na_rows": na_rows,
        "mismatch": mismatch,
        "mismatch_np": mismatch_np,
        "all_tie": all_tie,
        "bug10": bug10,
        "invert": invert,
    }


def check(rows):
    for i, row in enumerate(rows):
        assert set(row) == {
            "source",
            "instruction",
            "models",
            "completions",
            "correct_answers",
            "incorrect_answers",
        }, i
        assert len(row["models"]) == 4 and len(set(row["models"])) == 4, i
        assert len(row["completions"]) == 4, i
        assert len(row["instruction"].split()) <= 60, (i, "instruction too long")
        for j, c in enumerate(row["completions"]):
            assert c["model"] == row["models"][j], (i, j)
            assert c["principle"] in PRINCIPLES, (i, j)
            assert len(c["response"].split()) <= 120, (i, j, "response too long")
            ratings = aspect_ratings(c)
            assert all(r in VALID for r in ratings), (i, j, ratings)
            assert any(r != NA for r in ratings), (i, j)
            ann = c["annotations"]
            for a in ("truthfulness", "helpfulness"):
                assert ann[a]["Type"] and all(isinstance(t, str) for t in ann[a]["Type"]), (i, j, a)
            assert all(t in {"0", "1", "2", "3"} for t in ann["truthfulness"]["Type"]), (i, j)
            assert all(t in {"1", "2", "3", "None"} for t in ann["helpfulness"]["Type"]), (i, j)
            assert isinstance(c["overall_score"], float) and 1.0 <= c["overall_score"] <= 10.0, (i, j)
            assert abs(c["fine-grained_score"] - numeric_mean(c)) < 1e-9, (i, j)
    s = stats(rows)
    n = s["rows"]
    assert n >= 64
    assert len(s["ties"]) >= 6, s["ties"]
    assert len(s["na_rows"]) >= 5, s["na_rows"]
    assert len(s["bug10"]) >= 1 and len(s["invert"]) >= 1
    assert len(s["bug10"]) + len(s["invert"]) >= 8
    assert len(s["all_tie"]) >= 2, s["all_tie"]
    assert 0.40 <= len(s["mismatch"]) / n <= 0.55, len(s["mismatch"]) / n
    assert 0.40 <= len(s["mismatch_np"]) / n <= 0.55, len(s["mismatch_np"]) / n
    # special cases must be spread over the file, not bunched at the end
    for key in ("ties", "na_rows", "bug10", "invert", "all_tie"):
        assert min(s[key]) < n // 2, key
    return s


def render(rows):
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def main(argv):
    rows = build_rows()
    s = check(rows)
    text = render(rows)
    if "--check" in argv:
        same = OUT_PATH.exists() and OUT_PATH.read_text(encoding="utf-8") == text
        print("file up to date" if same else "file differs from generator output")
        if not same:
            return 1
    else:
        OUT_PATH.parent.mkdir(parents=True, exist_ok=True)
        OUT_PATH.write_text(text, encoding="utf-8")
        print(f"wrote {OUT_PATH.relative_to(ROOT)}")
    n = s["rows"]
    print(f"rows: {n}")
    print(f"ties at top (by mean, N/A excluded): {len(s['ties'])} {s['ties']}")
    print(f"rows with N/A: {len(s['na_rows'])} {s['na_rows']}")
    print(
        f"argmax(overall_score) not among best-by-mean: {len(s['mismatch'])} "
        f"({100 * len(s['mismatch']) / n:.1f}%) {s['mismatch']}"
    )
    print(
        f"argmax(overall_score) != argmax(mean), first-index argmax: {len(s['mismatch_np'])} "
        f"({100 * len(s['mismatch_np']) / n:.1f}%)"
    )
    print(f"all-tie rows: {len(s['all_tie'])} {s['all_tie']}")
    print(
        f"overall_score contradictions: {len(s['bug10']) + len(s['invert'])} "
        f"(bug 10.0 on all-low completion: {len(s['bug10'])} {s['bug10']}; "
        f"worse completion ranked first: {len(s['invert'])} {s['invert']})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
