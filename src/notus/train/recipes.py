"""Training recipes: the field's own recipe files, read by TRL's own dataclasses.

    notus train dpo recipes/train/notus-7b-v1/dpo-full.yaml --check
    notus train dpo ../alignment-handbook/recipes/zephyr-7b-beta/dpo/config_full.yaml --dataset pairs.jsonl max_steps=2

A recipe is one flat YAML mapping, as in alignment-handbook and TRL. Every key belongs to one (or more)
of four dataclasses, and the parser is transformers' `HfArgumentParser` over them, as in TRL's CLI:

- TRL's config of the method (`DPOConfig`, `SFTConfig`, `KTOConfig`, `ORPOConfig`), which inherits every
  key of transformers' `TrainingArguments` (optimiser, schedule, logging, saving, Hub, evaluation ...);
- TRL's `ModelConfig` (`model_name_or_path`, `dtype`, `attn_implementation`, `use_peft`, `lora_*`,
  `load_in_4bit`, ...);
- `DataArguments`: TRL's `ScriptArguments` plus alignment-handbook's data keys in both of its forms
  (`dataset_mixture: {datasets: [{id, config, split, columns, weight}], test_split_size, seed}` and the
  2023 `dataset_mixer` + `dataset_splits` + `preprocessing_num_workers`) and `chat_template`;
- `NotusArguments`: what notus adds (`backend`, `max_prompt_length`, `rpo_alpha`, `simpo_gamma`, ...).

So a key TRL adds tomorrow is accepted tomorrow. Keys that older recipes spell differently
(`evaluation_strategy`, `torch_dtype`, `max_seq_length`, `use_flash_attention_2`, ...) are read under
today's name with one note line each; a key no dataclass knows is an error with a suggestion. What this
machine cannot do (bf16 without bf16 units, flash attention or 4-bit without a CUDA GPU) gets one note
line naming the fallback. Values are type-checked and range-checked before any work, all problems at once.
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib
import math
import os
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

from notus.core.config import check_value, merge_tree
from notus.core.errors import RecipeError
from notus.llm.models import DEFAULT_MODEL

Backend = Literal["trl", "notus"]

# method -> TRL's config dataclass ("module:Class", imported on first use)
METHOD_CONFIGS = {
    "sft": "trl:SFTConfig",
    "dpo": "trl:DPOConfig",
    "kto": "trl:KTOConfig",
    "orpo": "trl.experimental.orpo:ORPOConfig",
}

# Keys older recipes spell differently -> (today's key, value mapping, why). The 2023 alignment-handbook
# recipes (and the Notus v1 configs ported from them) use these.
RENAMED: dict[str, tuple[str, Any, str]] = {
    "evaluation_strategy": ("eval_strategy", None, "renamed in transformers 4.46"),
    "torch_dtype": ("dtype", None, "renamed in TRL's ModelConfig"),
    "max_seq_length": ("max_length", None, "renamed in TRL 0.20 (SFTConfig)"),
    "use_flash_attention_2": (
        "attn_implementation",
        lambda on: "flash_attention_2" if on else None,
        "alignment-handbook 2023; today attn_implementation",
    ),
    "warmup_ratio": (
        "warmup_steps",
        None,
        "transformers 5 dropped warmup_ratio: a warmup_steps value below 1 is the same ratio of the steps",
    ),
    "progress_bar": (
        "disable_tqdm",
        lambda on: not on,
        "notus 0.1 name; today TrainingArguments' disable_tqdm",
    ),
}

# Keys transformers has dropped, with what happens instead (no dataclass field left to put them in).
RETIRED = {
    "overwrite_output_dir": "removed in transformers 5: the output folder is reused (notus resumes from its "
    "checkpoints when save_strategy saves any)",
}

DPO_LOSSES = ("sigmoid", "ipo", "robust", "hinge", "simpo", "rpo")  # what both backends implement


@dataclass
class DatasetSpec:
    """One dataset of a mixture: a local file/folder (any format `notus data` reads) or a Hub id."""

    id: str
    config: str | None = None
    split: str = "train"
    columns: list[str] | None = None
    weight: float = 1.0  # share of the split's rows kept (alignment-handbook's dataset_mixture)
    rename: dict[str, str] = field(default_factory=dict)  # notus: e.g. {chosen_response: chosen}


@dataclass
class DatasetMixture:
    """alignment-handbook's `dataset_mixture` (current form)."""

    datasets: list[DatasetSpec] = field(default_factory=list)
    test_split_size: float | None = None  # fraction (< 1) or number of rows held out for evaluation
    seed: int = 0
    eval_datasets: list[DatasetSpec] = field(default_factory=list)  # held out whole (2023 dataset_splits[1:])


@dataclass
class DataArguments:
    """TRL's ScriptArguments keys plus alignment-handbook's data keys (both forms) and chat_template."""

    dataset_name: str | None = None
    dataset_config: str | None = None
    dataset_train_split: str = "train"
    dataset_test_split: str = "test"
    dataset_streaming: bool = False
    ignore_bias_buffers: bool = False
    dataset_mixture: DatasetMixture = field(default_factory=DatasetMixture)
    dataset_mixer: dict[str, float] | None = None  # 2023 form: {hub id or path: weight}
    dataset_splits: list[str] | None = None  # 2023 form: [train split, test split]
    preprocessing_num_workers: int | None = None  # 2023 form of dataset_num_proc
    dataset_num_proc: int | None = None
    chat_template: str | None = None  # Jinja text or a .jinja file, for base models without one


@dataclass
class NotusArguments:
    """What notus adds to TRL's keys."""

    backend: Backend = "trl"  # trl: TRL's trainers (accelerate, DeepSpeed, FSDP); notus: the lean CPU loop
    max_prompt_length: int | None = None  # prompts longer than this keep their last tokens (both backends)
    ref_model_name_or_path: str | None = None  # DPO reference; None = the initial policy
    rpo_alpha: float = 1.0  # loss_type rpo: weight of the chosen completion's NLL
    simpo_gamma: float = 0.5  # loss_type simpo: target reward margin (SimPO, reference-free)
    max_train_samples: int | None = None
    micro_batch_tokens: int = 2048  # notus backend: each batch runs in slices of at most this many tokens
    torch_threads: int = 0  # 0 = torch's default
    ref_cache_dir: str | None = None  # notus backend: default $NOTUS_CACHE/ref_logps
    merge_adapter: bool = True  # LoRA: also save the merged model (the adapter goes to adapter/)
    license: str = "apache-2.0"  # model card
    tags: list[str] = field(default_factory=list)  # model card
    sft: dict[str, Any] | str | None = None  # SFT-then-DPO: an SFT recipe (mapping or file) run first


@cache
def method_config(method: str) -> type:
    if method not in METHOD_CONFIGS:
        raise RecipeError([f"method {method!r} is not one of {', '.join(METHOD_CONFIGS)}"])
    module, name = METHOD_CONFIGS[method].split(":")
    return getattr(importlib.import_module(module), name)


def dataclasses_for(method: str) -> dict[str, type]:
    from trl import ModelConfig

    return {
        "notus": NotusArguments,
        "data": DataArguments,
        "model": ModelConfig,
        "args": method_config(method),
    }


@dataclass
class TrainRecipe:
    """A parsed recipe: one instance of each dataclass, the keys as given, and the notes for this machine.

    Attribute access reads through to the parts (`recipe.learning_rate` is `recipe.args.learning_rate`,
    `recipe.lora_r` is `recipe.model.lora_r`), so code reads a recipe with TRL's key names."""

    method: str
    keys: dict[str, Any]  # the recipe as given (file + overrides, old names renamed): what recipe.yaml saves
    notus: NotusArguments
    data: DataArguments
    model: Any  # trl.ModelConfig
    args: Any  # DPOConfig / SFTConfig / KTOConfig / ORPOConfig (TrainingArguments inside)
    notes: list[str] = field(default_factory=list)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        for part in ("notus", "data", "model", "args"):
            obj = self.__dict__.get(part)
            if obj is not None and name in getattr(obj, "__dataclass_fields__", {}):
                return getattr(obj, name)
        raise AttributeError(f"recipe has no key {name!r}")

    @property
    def datasets(self) -> list[DatasetSpec]:
        return self.data.dataset_mixture.datasets


# ----------------------------------------------------------------------------------------------------------
# parsing


def _renamed(keys: dict[str, Any], notes: list[str], problems: list[str]) -> dict[str, Any]:
    out = {}
    for key, value in keys.items():
        if key in RETIRED:
            notes.append(f"{key}: {RETIRED[key]}; ignored")
            continue
        if key == "warmup_ratio" and isinstance(value, int | float) and not 0 <= value < 1:
            problems.append(f"warmup_ratio: {value!r} must be in [0, 1)")
            continue
        if key in RENAMED:
            new, convert, why = RENAMED[key]
            if new in keys:
                problems.append(f"{key} and {new} are the same key ({why}): keep only {new}")
                continue
            value = convert(value) if convert else value
            notes.append(f"{key}: read as {new}={value!r} ({why})")
            key = new
        out[key] = value
    return out


def _handbook_mixture(keys: dict[str, Any], problems: list[str]) -> None:
    """The 2023 `dataset_mixer` + `dataset_splits` form, and TRL's single `dataset_name`, as a mixture."""
    if keys.get("dataset_mixer") is not None:
        mixer, splits = keys["dataset_mixer"], keys.get("dataset_splits") or ["train", "test"]
        if not isinstance(mixer, dict) or not isinstance(splits, list) or not splits:
            return  # the type check reports it
        if keys.get("dataset_mixture"):
            problems.append("dataset_mixer and dataset_mixture both given: keep one")
            return
        train, test = splits[0], splits[1:]
        specs = [{"id": name, "split": train, "weight": weight} for name, weight in mixer.items()]
        mixture: dict[str, Any] = {"datasets": specs}
        if test:  # handbook 2023: the test split of each dataset, whole
            mixture["eval_datasets"] = [{"id": name, "split": s} for name in mixer for s in test]
        keys["dataset_mixture"] = mixture
    elif keys.get("dataset_name") and not keys.get("dataset_mixture"):
        spec = {"id": keys["dataset_name"], "split": keys.get("dataset_train_split", "train")}
        if keys.get("dataset_config"):
            spec["config"] = keys["dataset_config"]
        keys["dataset_mixture"] = {"datasets": [spec]}


def _hardware(keys: dict[str, Any], method: str, notes: list[str]) -> dict[str, Any]:
    """What this machine cannot do, each with one note line and the fallback. Returns forced TRL keys."""
    import torch

    forced: dict[str, Any] = {}
    cores = os.cpu_count() or 1
    for key in ("dataset_num_proc", "preprocessing_num_workers"):
        if isinstance(keys.get(key), int) and keys[key] > cores:
            notes.append(f"{key}: {keys[key]} processes on {cores} cores; using {cores}")
            keys[key] = cores
    if torch.cuda.is_available():
        return forced
    forced["use_cpu"] = True
    bf16_units = (
        getattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)()
        or getattr(torch.cpu, "_is_amx_tile_supported", lambda: False)()
    )
    if not keys.get("bf16"):
        forced["bf16"] = False  # TRL's bf16 default is for GPUs: on a CPU fp32 unless a recipe asks
    elif not bf16_units:
        notes.append("bf16: no GPU and no bf16 units on this CPU; training runs in fp32")
        forced["bf16"] = False
    else:
        notes.append("bf16: no GPU; bf16 autocast on this CPU (it has bf16 units), fp32 weights")
    if keys.get("fp16"):
        notes.append("fp16: no GPU; training runs in fp32")
        forced["fp16"] = False
    if keys.get("tf32"):
        notes.append("tf32: an Ampere+ GPU setting; ignored on CPU")
        forced["tf32"] = None
    attn = keys.get("attn_implementation")
    if isinstance(attn, str) and attn.startswith("flash_attention"):
        notes.append(f"attn_implementation: {attn} needs a CUDA GPU; using sdpa")
        keys["attn_implementation"] = "sdpa"
    for bits in ("load_in_4bit", "load_in_8bit"):
        if keys.get(bits):
            notes.append(
                f"{bits}: bitsandbytes quantization needs a CUDA GPU; the base weights stay in fp32 "
                "(LoRA without quantization)"
            )
            keys[bits] = False
    optim = keys.get("optim")
    if isinstance(optim, str) and ("8bit" in optim or optim.startswith("paged_")):
        notes.append(f"optim: {optim} needs bitsandbytes on a CUDA GPU; using adamw_torch")
        keys["optim"] = "adamw_torch"
    return forced


def _owners(keys: dict[str, Any], classes: dict[str, type], problems: list[str]) -> dict[str, dict[str, Any]]:
    fields = {part: {f.name for f in dataclasses.fields(cls) if f.init} for part, cls in classes.items()}
    known = set().union(*fields.values())
    split: dict[str, dict[str, Any]] = {part: {} for part in classes}
    for key, value in keys.items():
        if key not in known:
            close = difflib.get_close_matches(str(key), sorted(known), n=1, cutoff=0.75)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            problems.append(
                f"{key}: unknown key (not in TRL's {classes['args'].__name__}, ModelConfig or "
                f"notus' DataArguments/NotusArguments){hint}"
            )
            continue
        for part, names in fields.items():
            if key in names:
                split[part][key] = value
    return split


def _ranges(keys: dict[str, Any], method: str) -> list[str]:
    """Numbers that must make sense before any work (finite, in range)."""
    problems = []

    def number(key: str, low: float, high: float = math.inf, low_open: bool = False, high_open=False):
        value = keys.get(key)
        if value is None or isinstance(value, bool) or not isinstance(value, int | float):
            return
        bad = not math.isfinite(value) or value < low or value > high
        bad = bad or (low_open and value == low) or (high_open and value == high)
        if bad:
            lo = "(" if low_open else "["
            hi = ")" if high_open else "]"
            problems.append(f"{key}: {value!r} must be a finite number in {lo}{low}, {high}{hi}")

    number("learning_rate", 0, low_open=True)
    number("weight_decay", 0)
    number("max_grad_norm", 0)
    number("num_train_epochs", 0)
    number("warmup_ratio", 0, 1, high_open=True)
    number("beta", 0, low_open=True)
    number("label_smoothing", 0, 0.5, high_open=True)
    number("lora_dropout", 0, 1, high_open=True)
    number("rpo_alpha", 0)
    number("simpo_gamma", 0)
    for key in (
        "per_device_train_batch_size",
        "gradient_accumulation_steps",
        "logging_steps",
        "lora_r",
        "lora_alpha",
        "micro_batch_tokens",
        "max_length",
        "max_prompt_length",
    ):
        number(key, 1)
    if keys.get("bf16") and keys.get("fp16"):
        problems.append("bf16 and fp16 are both true: pick one")
    if method == "dpo" and keys.get("fp16"):
        problems.append(
            "fp16: DPO in fp16 is refused: the reward is a difference of summed log-probs and fp16 loses it "
            "(overflowing logits, underflowing margins). Use bf16=true on a GPU that supports it, or fp32."
        )
    prompt, length = keys.get("max_prompt_length"), keys.get("max_length")
    if isinstance(prompt, int) and isinstance(length, int) and prompt >= length:
        problems.append(f"max_prompt_length ({prompt}) must be < max_length ({length})")
    if keys.get("trust_remote_code"):
        problems.append("trust_remote_code: notus never runs code shipped with a model; set it to false")
    if keys.get("load_in_4bit") and not keys.get("use_peft"):
        problems.append("load_in_4bit (QLoRA) trains adapters only: set use_peft=true")
    if method in ("kto", "orpo") and keys.get("backend") == "notus":
        problems.append(f"backend: {method} runs on TRL's trainer only; use backend: trl")
    loss = keys.get("loss_type")
    if method == "dpo" and keys.get("backend", "trl") == "notus" and loss is not None:
        names = loss if isinstance(loss, list) else [loss]
        if len(names) != 1 or names[0] not in DPO_LOSSES:
            problems.append(
                f"loss_type: {loss!r}: the notus backend implements one of {', '.join(DPO_LOSSES)} "
                "(backend: trl has every TRL loss)"
            )
    mixture = keys.get("dataset_mixture")
    if isinstance(mixture, DatasetMixture):
        for i, spec in enumerate(mixture.datasets):
            if isinstance(spec, DatasetSpec) and not (math.isfinite(spec.weight) and 0 < spec.weight <= 1):
                problems.append(f"dataset_mixture.datasets[{i}].weight: {spec.weight!r} must be in (0, 1]")
        size = mixture.test_split_size
        if isinstance(size, int | float) and not (math.isfinite(size) and size >= 0):
            problems.append(f"dataset_mixture.test_split_size: {size!r} must be >= 0")
    return problems


def _construct(cls: type, values: dict[str, Any], problems: list[str], notes: list[str]) -> Any:
    """`cls` built by transformers' HfArgumentParser; its warnings about keys the recipe sets become
    notes (a deprecation of a default the user never wrote is TRL's business), its errors problems."""
    import re
    import warnings

    from transformers import HfArgumentParser

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            (obj,) = HfArgumentParser(cls).parse_dict(values, allow_extra_keys=False)
        except (ValueError, TypeError, ImportError) as exc:
            problems.append(f"{cls.__name__}: {str(exc).splitlines()[0]}")
            obj = None
    for warning in caught:
        message = str(warning.message).splitlines()[0]
        if set(re.findall(r"`(\w+)`", message)) & set(values):
            note = f"{cls.__name__}: {message}"
            if note not in notes:
                notes.append(note)
    return obj


def build_train_recipe(
    method: str, keys: dict[str, Any], source: str = "recipe", notes: list[str] | None = None
) -> TrainRecipe:
    """Parse a flat recipe mapping for `method`; raise RecipeError listing every problem."""
    classes = dataclasses_for(method)
    notes = list(notes or [])
    problems: list[str] = []
    given = _renamed(dict(keys), notes, problems)
    _handbook_mixture(given, problems)
    machine = dict(given)
    hardware = _hardware(machine, method, notes)
    split = _owners(machine, classes, problems)
    for part, values in split.items():
        hints = _field_types(classes[part])
        for key, value in values.items():
            values[key] = check_value(value, hints[key], key, problems)
    coerced = {key: value for values in split.values() for key, value in values.items()}
    problems.extend(_ranges(coerced, method))
    if problems:
        raise RecipeError(problems, source)
    args_values = dict(split["args"])
    report = args_values.get("report_to", [])
    if isinstance(report, list):  # metrics.jsonl is always written; "jsonl" is notus' own name for it
        args_values["report_to"] = [r for r in report if r != "jsonl"] or "none"
    elif report == "jsonl":
        args_values["report_to"] = "none"
    args_values.setdefault("report_to", "none")
    args_values.setdefault("output_dir", f"runs/{method}")
    args_values.update(hardware)
    data = DataArguments(**split["data"])
    notus = NotusArguments(**split["notus"])
    model = _construct(
        classes["model"], {"model_name_or_path": DEFAULT_MODEL, **split["model"]}, problems, notes
    )
    args = _construct(classes["args"], args_values, problems, notes)
    if problems:
        raise RecipeError(problems, source)
    if isinstance(notus.sft, dict):  # SFT-then-DPO: the SFT stage is checked now, not after hours of work
        build_train_recipe("sft", notus.sft, f"{source}: sft")
    elif isinstance(notus.sft, str) and not Path(notus.sft).expanduser().is_file():
        raise RecipeError(
            [f"sft: {notus.sft!r} is neither an SFT recipe mapping nor an existing recipe file"], source
        )
    return TrainRecipe(method, given, notus, data, model, args, notes)


@cache
def _field_types(cls: type) -> dict[str, Any]:
    import typing

    hints = typing.get_type_hints(cls)
    return {f.name: hints.get(f.name, Any) for f in dataclasses.fields(cls)}


def load_train_recipe(
    method: str,
    path: str | Path | None = None,
    overrides: list[str] | None = None,
    dataset: str | None = None,
) -> TrainRecipe:
    """Read a recipe file (optional), apply `key=value` overrides and `--dataset`, parse and check it."""
    from notus.core.config import read_yaml

    keys = read_yaml(path) if path else {}
    return train_recipe_from(method, keys, str(path) if path else "recipe", overrides, dataset)


def train_recipe_from(
    method: str,
    keys: dict[str, Any],
    source: str,
    overrides: list[str] | None = None,
    dataset: str | None = None,
) -> TrainRecipe:
    """`load_train_recipe` on keys already read (a file's or an inline block of an experiment recipe)."""
    from notus.core.config import parse_overrides

    tree, problems = parse_overrides(overrides or [])
    if problems:
        raise RecipeError(problems, source)
    notes: list[str] = []
    problems = []
    keys = _renamed(keys, notes, problems)  # old names in the file, before overrides in today's names
    keys = merge_tree(keys, _renamed(tree, notes, problems))
    if problems:
        raise RecipeError(problems, source)
    if dataset:
        keys = with_dataset(keys, dataset)
    return build_train_recipe(method, keys, source, notes)


def with_dataset(keys: dict[str, Any], path: str) -> dict[str, Any]:
    """`--dataset PATH`: the recipe's datasets (any form) replaced by one local file; the test split kept."""
    keys = {k: v for k, v in keys.items() if k not in ("dataset_mixer", "dataset_splits", "dataset_name")}
    mixture = keys.get("dataset_mixture") if isinstance(keys.get("dataset_mixture"), dict) else {}
    keys["dataset_mixture"] = {**mixture, "datasets": [{"id": path}]}
    return keys


def train_recipe(method: str, **keys: Any) -> TrainRecipe:
    """A recipe built in Python with the same keys a YAML file takes: `train_recipe("dpo", beta=0.1)`."""
    return build_train_recipe(method, keys, f"{method} recipe")
