"""Training recipes: the keys users know from alignment-handbook and TRL, typed and checked before work.

    notus train dpo recipes/train/cpu/dpo.yaml learning_rate=1e-6 max_steps=10
    notus train sft recipes/train/cpu/sft.yaml

`SFTRecipe` and `DPORecipe` share `TrainRecipe` (model, data mixture, optimisation, logging, LoRA).
`backend: notus` runs the lean loop of `notus.train.loop` (CPU, or `torchrun` over gloo/nccl);
`backend: trl` hands the same recipe to TRL's trainers (GPU, accelerate + DeepSpeed ZeRO-3 / FSDP).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from notus.llm.models import DEFAULT_MODEL

Scheduler = Literal["linear", "cosine", "constant", "constant_with_warmup"]
Optimizer = Literal["adamw_torch", "rmsprop", "sgd"]
Reporter = Literal["jsonl", "tensorboard", "wandb", "mlflow"]
DPOLoss = Literal["sigmoid", "ipo", "robust", "hinge", "simpo", "rpo"]


@dataclass
class DatasetSpec:
    """One dataset of a mixture: a local file/folder (JSONL, JSON, Parquet, `datasets` folder) or a Hub id."""

    id: str
    split: str = "train"
    config: str | None = None
    weight: float = 1.0  # fraction of the split's rows to keep (alignment-handbook's dataset_mixture)
    columns: list[str] = field(default_factory=list)
    rename: dict[str, str] = field(default_factory=dict)  # e.g. {chosen_response: chosen}


@dataclass
class DatasetMixture:
    datasets: list[DatasetSpec] = field(default_factory=list)
    test_split_size: float = 0.0  # fraction (< 1) or number of rows held out for evaluation
    seed: int = 0

    def check(self) -> list[str]:
        problems = []
        for i, spec in enumerate(self.datasets):
            if not 0 < spec.weight <= 1:
                problems.append(f"datasets[{i}].weight: {spec.weight} must be in (0, 1]")
        if self.test_split_size < 0:
            problems.append("test_split_size must be >= 0")
        return problems


@dataclass
class TrainRecipe:
    """Keys common to every training method (names as in TRL's TrainingArguments and ModelConfig)."""

    model_name_or_path: str = DEFAULT_MODEL
    dataset_mixture: DatasetMixture = field(default_factory=DatasetMixture)
    max_train_samples: int | None = None
    output_dir: str = "runs/train"
    backend: Literal["notus", "trl"] = "notus"
    chat_template: str | None = None  # Jinja text or a .jinja file, for base models without one
    # optimisation
    learning_rate: float = 5e-7
    num_train_epochs: float = 1.0
    max_steps: int = -1  # > 0 overrides num_train_epochs
    per_device_train_batch_size: int = 4
    gradient_accumulation_steps: int = 1
    max_length: int = 1024
    lr_scheduler_type: Scheduler = "linear"
    warmup_ratio: float = 0.0
    optim: Optimizer = "adamw_torch"
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    seed: int = 42
    bf16: bool = False
    fp16: bool = False
    gradient_checkpointing: bool = True  # as TRL: recompute activations in backward (less memory)
    micro_batch_tokens: int = 2048  # the notus loop runs each batch in slices of at most this many tokens
    torch_threads: int = 0  # 0 = torch's default
    # logging and checkpoints
    report_to: list[Reporter] = field(default_factory=lambda: ["jsonl"])
    logging_steps: int = 1
    save_steps: int = 0  # 0 = only the final model; > 0 = resumable checkpoints every N steps
    save_total_limit: int = 2
    progress_bar: bool = True
    # LoRA (TRL ModelConfig names)
    use_peft: bool = False
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    lora_target_modules: list[str] = field(
        default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    )
    load_in_4bit: bool = False  # QLoRA: needs bitsandbytes and a CUDA GPU
    merge_adapter: bool = True  # export a plain merged model folder next to the adapter
    # model card
    license: str = "apache-2.0"
    tags: list[str] = field(default_factory=list)
    hub_model_id: str | None = None

    def check(self) -> list[str]:
        problems = []
        for name in (
            "per_device_train_batch_size",
            "gradient_accumulation_steps",
            "max_length",
            "logging_steps",
        ):
            if getattr(self, name) < 1:
                problems.append(f"{name}: must be >= 1, got {getattr(self, name)}")
        if self.learning_rate <= 0:
            problems.append(f"learning_rate: must be > 0, got {self.learning_rate}")
        if self.max_steps <= 0 and self.num_train_epochs <= 0:
            problems.append("set max_steps > 0 or num_train_epochs > 0")
        if not 0 <= self.warmup_ratio < 1:
            problems.append(f"warmup_ratio: must be in [0, 1), got {self.warmup_ratio}")
        if self.bf16 and self.fp16:
            problems.append("bf16 and fp16 are both true: pick one")
        if self.load_in_4bit and not self.use_peft:
            problems.append("load_in_4bit (QLoRA) trains adapters only: set use_peft=true")
        if self.save_steps < 0:
            problems.append("save_steps: must be >= 0")
        return problems


@dataclass
class SFTRecipe(TrainRecipe):
    """Supervised fine-tuning on conversations (`messages` lists), loss on assistant tokens only."""

    learning_rate: float = 2e-5
    packing: bool = True
    assistant_only_loss: bool = True


@dataclass
class DPORecipe(TrainRecipe):
    """Direct preference optimisation on (prompt, chosen, rejected) pairs in TRL's conversational format."""

    ref_model_name_or_path: str | None = None  # None = the initial policy (computed before training)
    beta: float = 0.1
    loss_type: DPOLoss = "sigmoid"
    label_smoothing: float = 0.0  # robust DPO: assumed share of flipped labels
    rpo_alpha: float = 1.0  # rpo: weight of the NLL term on chosen completions
    simpo_gamma: float = 0.5  # simpo: target reward margin
    max_prompt_length: int | None = None  # prompts longer than this keep their last tokens
    ref_cache_dir: str | None = None  # default: $NOTUS_CACHE/ref_logps
    sft: SFTRecipe | None = None  # SFT-then-DPO: run this SFT stage first and start DPO from its model

    def check(self) -> list[str]:
        problems = super().check()
        if self.fp16:
            problems.append(
                "fp16: DPO in fp16 is refused: the reward is a difference of summed log-probs and fp16 "
                "loses it (overflowing logits, underflowing margins). Use bf16=true on a GPU that supports "
                "it, or fp32 (the default, and what runs on CPU)."
            )
        if self.beta <= 0:
            problems.append(f"beta: must be > 0, got {self.beta}")
        if not 0 <= self.label_smoothing < 0.5:
            problems.append(f"label_smoothing: must be in [0, 0.5), got {self.label_smoothing}")
        if self.max_prompt_length is not None and self.max_prompt_length >= self.max_length:
            problems.append(
                f"max_prompt_length ({self.max_prompt_length}) must be < max_length ({self.max_length})"
            )
        return problems
