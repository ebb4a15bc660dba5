"""The experiment report's conclusion follows from the numbers: a difference is claimed only when the
paired test says so, the synthetic sample is named in the caveats, times read as words, and the HTML is
rendered Markdown (tables, no literal backticks) with the conclusion before the plots."""

from types import SimpleNamespace

from notus.experiment.report import conclusion, summarize, words, write_report

PAIRS = 20


def _metrics(correct: list[int]) -> dict:
    k = sum(correct)
    return {"n": len(correct), "reward_wins": k, "reward_accuracy": k / len(correct), "reward_correct": correct,
            "logp_wins": k, "logp_accuracy": k / len(correct), "logp_correct": correct}  # fmt: skip


def _summary(tmp_path, a_right: int, b_right: int) -> dict:
    recipe = SimpleNamespace(strategies=["zephyr", "notus"], seeds=[1], method="dpo")
    a = [1] * a_right + [0] * (PAIRS - a_right)
    b = [1] * b_right + [0] * (PAIRS - b_right)
    evaluation = {
        "notus": {"base": {0: _metrics([0] * PAIRS)}, "zephyr": {1: _metrics(a)}, "notus": {1: _metrics(b)}}
    }
    data = {"notus": {"input": "/x/ultrafeedback_mini.jsonl", "splits": {"train": 50, "test": PAIRS},
                      "ledger": {"rows_in": 72, "quarantined": 0, "filtered": {"tie": 2}}},
            "zephyr": {"input": "/x/ultrafeedback_mini.jsonl", "splits": {"train": 52, "test": PAIRS},
                       "ledger": {"rows_in": 72, "quarantined": 0, "filtered": {}}}}  # fmt: skip
    train = {
        s: {1: {"output_dir": str(tmp_path / s), "steps": 2, "final_loss": 0.69, "seconds": 61}}
        for s in ("zephyr", "notus")
    }
    return summarize(recipe, tmp_path, data, train, evaluation, {}, {"total": 3725.0})


def test_no_difference_is_claimed_when_the_paired_test_does_not_support_it(tmp_path):
    s = _summary(tmp_path, a_right=12, b_right=14)  # 2 discordant pairs: p = 0.5
    lines = conclusion(s)
    assert any(
        "no difference between zephyr- and notus-trained models can be claimed at this n" in x for x in lines
    )
    assert any("synthetic sample" in c for c in s["caveats"])
    assert any("No judged evaluation" in c for c in s["caveats"])


def test_a_difference_is_claimed_when_it_is_significant(tmp_path):
    s = _summary(tmp_path, a_right=2, b_right=18)  # 16 discordant pairs, all for notus: p ~ 3e-5
    paired = s["preference"]["tests"]["notus"]["paired"]["reward_accuracy"]
    assert (paired["a_better"], paired["b_better"]) == (0, 16) and paired["p_value"] < 1e-4
    assert any("notus-trained models are more accurate" in x for x in conclusion(s))
    notus = s["preference"]["tests"]["notus"]["models"]["notus"]["reward_accuracy"]
    assert notus["mean"] == 0.9 and notus["wilson_of_mean"][0] > 0.5  # above chance


def test_report_files(tmp_path):
    paths = write_report(tmp_path, _summary(tmp_path, 12, 14))
    md, html = paths["markdown"].read_text(), paths["html"].read_text()
    assert md.index("## Conclusion") < md.index("## Caveats") < md.index("## Data")
    assert "1 hour 2 minutes" in md and "1 minute 1 second" in md
    body = html.split("<body>")[1]
    assert "<table>" in body and "`" not in body and body.index("Conclusion") < body.index("<img")
    assert "error bars 95 % Wilson intervals" in md


def test_words():
    assert (
        words(12) == "12 seconds" and words(75) == "1 minute 15 seconds" and words(3720) == "1 hour 2 minutes"
    )
    assert words(60) == "1 minute" and words(1) == "1 second"
