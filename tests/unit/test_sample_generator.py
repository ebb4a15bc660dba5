"""The shipped sample is exactly what its generator makes from the hand-written texts in
scripts/uf_sample/prompts.jsonl (byte-identical), and the generator says so with --check."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_sample_is_rebuilt_byte_identically_from_its_data_file():
    out = subprocess.run([sys.executable, "scripts/make_uf_sample.py", "--check"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    assert "file up to date" in out.stdout and "rows: 72" in out.stdout
    assert "argmax(overall_score) != argmax(mean), first-index argmax: 34" in out.stdout  # by construction
    prompts = (ROOT / "scripts" / "uf_sample" / "prompts.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(prompts) == 72
