"""Bad training recipes, data and run folders for `notus train`: each case's exit code and message, the
inputs untouched, no traceback; a crafted checkpoint or reference cache never runs code (README.md).

Recipe cases run `--check` (parse and validate only); the run cases train the tiny random model."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest
from harness import Table, run_case, write_files

ROOT = Path(__file__).resolve().parents[2]
PAIRS = (ROOT / "tests" / "fixtures" / "train" / "pairs.jsonl").read_bytes()


def yaml_bytes(text: str) -> bytes:
    return text.encode()


BOMB = "\n".join(
    ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    + [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 12)]
    + ["tags: *a11"]
)

CASES = Table()
R = "{d}/r.yaml"
# --- the file itself
CASES.add("yaml-syntax", {"r.yaml": b"beta: [0.1\n"}, f"train dpo {R} --check", 2, "not valid YAML", "r.yaml")
CASES.add(
    "repeated-key",
    {"r.yaml": b"beta: 0.1\nseed: 1\nbeta: 0.2\n"},
    f"train dpo {R} --check",
    2,
    "line 3: key 'beta' appears twice (first on line 1)",
)
CASES.add("alias-bomb", {"r.yaml": yaml_bytes(BOMB)}, f"train dpo {R} --check", 2, "aliases")
CASES.add(
    "not-utf8",
    {"r.yaml": "output_dir: caf\xe9\n".encode("latin-1")},
    f"train dpo {R} --check",
    2,
    "not UTF-8",
)
CASES.add(
    "top-level-list", {"r.yaml": b"- beta: 0.1\n"}, f"train dpo {R} --check", 2, "top level must be a mapping"
)
CASES.add(
    "python-tag",
    {"r.yaml": b"beta: !!python/object/apply:os.system [touch pwned]\n"},
    f"train dpo {R} --check",
    2,
    "not valid YAML",
    check=lambda d: not (d / "pwned").exists(),
)
CASES.add("binary-garbage", {"r.yaml": bytes(range(256)) * 4}, f"train dpo {R} --check", 2, "r.yaml")
CASES.add(
    "tab-indent", {"r.yaml": b"dataset_mixture:\n\tseed: 1\n"}, f"train dpo {R} --check", 2, "not valid YAML"
)
CASES.add("missing-file", {"other.yaml": b"beta: 0.1\n"}, f"train dpo {R} --check", 2, "does not exist")
CASES.add("folder-as-recipe", {"r.yaml/x": b""}, f"train dpo {R} --check", 2, "does not exist")
# --- keys
for name, text, fragment in [
    ("unknown-key", "betta: 0.1\n", "did you mean 'beta'"),
    ("unknown-key-no-hint", "zzz_flux: 3\n", "zzz_flux: unknown key"),
    (
        "int-as-text",
        "per_device_train_batch_size: many\n",
        "per_device_train_batch_size: expected an integer",
    ),
    ("bool-as-text", "use_peft: maybe\n", "use_peft: expected true/false"),
    ("list-as-map", "report_to: {a: 1}\n", "report_to"),
    ("nan-lr", "learning_rate: .nan\n", "learning_rate"),
    ("inf-lr", "learning_rate: .inf\n", "learning_rate"),
    ("negative-lr", "learning_rate: -1.0e-6\n", "learning_rate: -1e-06"),
    ("zero-lr", "learning_rate: 0\n", "learning_rate: 0"),
    ("zero-beta", "beta: 0\n", "beta: 0"),
    ("nan-beta", "beta: .nan\n", "beta"),
    ("negative-epochs", "num_train_epochs: -1\n", "num_train_epochs: -1"),
    ("negative-weight-decay", "weight_decay: -0.1\n", "weight_decay: -0.1"),
    ("negative-grad-norm", "max_grad_norm: -1\n", "max_grad_norm: -1"),
    ("zero-lora-r", "lora_r: 0\n", "lora_r: 0"),
    ("lora-dropout-2", "lora_dropout: 2.0\n", "lora_dropout: 2.0"),
    ("micro-batch-0", "micro_batch_tokens: 0\n", "micro_batch_tokens: 0"),
    ("batch-0", "per_device_train_batch_size: 0\n", "per_device_train_batch_size: 0"),
    ("accumulation-0", "gradient_accumulation_steps: 0\n", "gradient_accumulation_steps: 0"),
    ("warmup-ratio-1.5", "warmup_ratio: 1.5\n", "warmup_ratio: 1.5"),
    ("label-smoothing-0.7", "label_smoothing: 0.7\n", "label_smoothing: 0.7"),
    ("max-length-0", "max_length: 0\n", "max_length: 0"),
    ("prompt-longer-than-length", "max_prompt_length: 2048\nmax_length: 1024\n", "max_prompt_length (2048)"),
    ("trust-remote-code", "trust_remote_code: true\n", "never runs code"),
    ("fp16-dpo", "fp16: true\n", "DPO in fp16 is refused"),
    ("scheduler-unknown", "lr_scheduler_type: sometimes\n", "lr_scheduler_type: 'sometimes'"),
    ("optim-unknown", "optim: adamw_magic\n", "optim: 'adamw_magic'"),
    ("save-strategy-unknown", "save_strategy: sometimes\n", "save_strategy: 'sometimes'"),
    ("notus-loss-unknown", "backend: notus\nloss_type: kl\n", "loss_type: ['kl']"),
    ("notus-optim-adafactor", "backend: notus\noptim: adafactor\n", "the notus backend has"),
    ("backend-unknown", "backend: jax\n", "backend: 'jax'"),
    ("weight-nan", "dataset_mixture:\n  datasets:\n    - {id: hub/x, weight: .nan}\n", "weight"),
    ("weight-zero", "dataset_mixture:\n  datasets:\n    - {id: hub/x, weight: 0}\n", "weight: 0"),
    ("weight-two", "dataset_mixture:\n  datasets:\n    - {id: hub/x, weight: 2}\n", "weight: 2"),
    ("test-split-negative", "dataset_mixture:\n  test_split_size: -3\n", "test_split_size: -3"),
    ("spec-unknown-key", "dataset_mixture:\n  datasets:\n    - {idd: hub/x}\n", "idd: unknown key"),
    ("spec-not-a-map", "dataset_mixture:\n  datasets: [hub/x]\n", "dataset_mixture.datasets[0]"),
    (
        "mixer-and-mixture",
        "dataset_mixer: {hub/x: 1.0}\ndataset_mixture:\n  datasets: [{id: hub/y}]\n",
        "dataset_mixer and dataset_mixture both given",
    ),
    ("old-and-new-name", "evaluation_strategy: steps\neval_strategy: epoch\n", "keep only eval_strategy"),
    (
        "missing-local-dataset",
        "dataset_mixture:\n  datasets: [{id: ./nope/pairs.jsonl}]\n",
        "./nope/pairs.jsonl",
    ),
    ("missing-parquet", "dataset_mixture:\n  datasets: [{id: data/x.parquet}]\n", "data/x.parquet"),
    ("missing-mixer-file", "dataset_mixer: {../nope.jsonl: 1.0}\n", "../nope.jsonl"),
    ("sft-block-bad", "sft: 7\n", "sft"),
]:
    CASES.add(
        name, {"r.yaml": yaml_bytes(text)}, f"train dpo {R} --check", 2, fragment, outcome="invalid option"
    )
# --- the command line
CASES.add(
    "override-syntax",
    {"r.yaml": b"beta: 0.1\n"},
    f"train dpo {R} --check steps",
    2,
    "unrecognized arguments: steps",
)
CASES.add("override-below-value", {"r.yaml": b"beta: 0.1\n"}, f"train dpo {R} --check beta.x=1", 2, "beta")
CASES.add(
    "override-nan",
    {"r.yaml": b"beta: 0.1\n"},
    f"train dpo {R} --check learning_rate=nan",
    2,
    "learning_rate",
    outcome="invalid option",
)
CASES.add(
    "dataset-missing",
    {"r.yaml": b"beta: 0.1\n"},
    f"train dpo {R} --check --dataset {{d}}/none.jsonl",
    2,
    "none.jsonl",
)
CASES.add(
    "sft-flag-on-kto", {"r.yaml": b"packing: true\n"}, f"train kto {R} --check", 2, "packing: unknown key"
)
# --- accepted: what looks odd but is the field's own spelling (read, with notes)
CASES.add("no-is-a-string", {"r.yaml": b"save_strategy: no\n"}, f"train dpo {R} --check", 0, "recipe OK")
CASES.add(
    "2023-names",
    {"r.yaml": b"evaluation_strategy: steps\nwarmup_ratio: 0.1\noverwrite_output_dir: true\n"},
    f"train dpo {R} --check",
    0,
    "read as eval_strategy",
    "read as warmup_steps",
    "overwrite_output_dir",
)
CASES.add(
    "flash-attention-on-cpu",
    {"r.yaml": b"attn_implementation: flash_attention_2\n"},
    f"train dpo {R} --check",
    0,
    "using sdpa",
)
CASES.add(
    "qlora-on-cpu",
    {"r.yaml": b"load_in_4bit: true\nuse_peft: true\noptim: paged_adamw_32bit\n"},
    f"train dpo {R} --check",
    0,
    "LoRA without quantization",
    "using adamw_torch",
)


@pytest.mark.parametrize("case", CASES, ids=CASES.ids())
def test_recipe_case(case, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    inputs = write_files(tmp_path, case.files)
    result = run_case(case.command(tmp_path), capsys, inputs=inputs, folder=tmp_path)
    result.expect(case.code, *case.fragments)
    if case.check:
        assert case.check(tmp_path) is not False


def tiny_run(tmp_path: Path, model: Path, data: Path, *extra: str) -> list[str]:
    return [
        "train", "dpo", f"model_name_or_path={model}", "backend=notus",
        f"dataset_mixture={{datasets: [{{id: {data}}}]}}", f"output_dir={tmp_path / 'run'}",
        "max_steps=2", "per_device_train_batch_size=2", "max_length=96", "disable_tqdm=true",
        f"ref_cache_dir={tmp_path / 'cache'}", "report_to=[]", *extra,
    ]  # fmt: skip


RUNS = [  # (name, data file bytes, expected fragments): bad data reaching training is one clear line
    ("invalid-json-line", PAIRS + b"{not json\n", ("data.jsonl:17",)),
    ("no-chosen-field", b'{"prompt": "p", "rejected": "r"}\n' * 4, ("missing field 'chosen'",)),
    ("chosen-wrong-type", b'{"prompt": "p", "chosen": 7, "rejected": "r"}\n' * 4, ("field 'chosen'",)),
    ("empty-file", b"", ("no training rows",)),
    ("too-few-rows", PAIRS.splitlines(keepends=True)[0], ("fewer than one global batch",)),
]


@pytest.mark.parametrize("name,data,fragments", RUNS, ids=[r[0] for r in RUNS])
def test_bad_training_data_is_one_clear_line(name, data, fragments, tiny_model_dir, tmp_path, capsys):
    (path,) = write_files(tmp_path, {"data.jsonl": data})
    result = run_case(tiny_run(tmp_path, tiny_model_dir, path), capsys, inputs=[path, tiny_model_dir])
    result.expect(2, *fragments)


def test_a_crafted_checkpoint_never_runs_code(tiny_model_dir, tmp_path, capsys):
    """A pickle planted as a checkpoint (the old state.pt format) is never unpickled; a damaged
    safetensors/JSON checkpoint is one clear line naming it."""

    class Payload:
        def __reduce__(self):
            return (Path.touch, (tmp_path / "pwned",))

    (data,) = write_files(tmp_path / "inputs", {"data.jsonl": PAIRS})
    step = tmp_path / "run" / "checkpoints" / "step-0000001"
    step.mkdir(parents=True)
    (step / "state.pt").write_bytes(pickle.dumps(Payload()))
    (step / "state.json").write_text(json.dumps({"dict": [["step", 1]]}))
    (step / "state.safetensors").write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{garbage")
    argv = tiny_run(tmp_path, tiny_model_dir, data, "save_strategy=steps", "save_steps=1")
    result = run_case(argv, capsys, inputs=[data, step / "state.pt", tiny_model_dir], folder=data.parent)
    result.expect(2, "step-0000001", "cannot be read")
    assert not (tmp_path / "pwned").exists(), "the planted pickle ran"


def test_a_planted_reference_cache_is_never_unpickled(tiny_model_dir, tmp_path, capsys):
    class Payload:
        def __reduce__(self):
            return (Path.touch, (tmp_path / "pwned",))

    (data,) = write_files(tmp_path, {"data.jsonl": PAIRS})
    cache = tmp_path / "cache"
    cache.mkdir()
    for name in ("a.pt", "b.json", "c.safetensors"):  # whatever names, nothing there is loaded as pickle
        (cache / name).write_bytes(pickle.dumps(Payload()))
    result = run_case(tiny_run(tmp_path, tiny_model_dir, data), capsys, inputs=[data, tiny_model_dir])
    result.expect(0, "trained dpo for 2 steps")
    assert not (tmp_path / "pwned").exists()
