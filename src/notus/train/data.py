"""Training data: load a dataset mixture, normalise rows to TRL's conversational format, tokenize.

Tokenization follows the traps users keep hitting:
- the tokenizer's own chat template renders every example (the same one evaluation and serving use);
- the rendered text is tokenized with `add_special_tokens=False`, so the template's BOS is not doubled;
- every completion ends with the EOS token (the template's end-of-turn); lengths, not the pad id, mark
  padding, so an EOS equal to the pad token is never masked out;
- truncation is explicit: prompts keep their last `max_prompt_length` tokens, prompt + completion keep
  their first `max_length` tokens (TRL's `keep_start`).
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from notus.core.errors import DataError
from notus.train.recipes import DatasetMixture, DatasetSpec


def looks_local(ref: str) -> bool:
    """A dataset reference meant as a file: a path syntax or a data-file suffix (never sent to the Hub)."""
    from notus.data.readers import HUB_ID

    return not HUB_ID.match(ref) or ref.endswith(DATA_SUFFIXES) or ref.startswith((".", "/", "~"))


DATA_SUFFIXES = (".jsonl", ".json", ".parquet", ".csv", ".gz", ".arrow")


def load_spec(spec: DatasetSpec) -> list[dict[str, Any]]:
    """One dataset's rows: a local file or folder through `notus.data.readers`, or a Hub split."""
    from notus.data.readers import read_rows

    path = Path(spec.id).expanduser()
    if path.exists():
        try:
            rows = [record.row for record in read_rows(path, spec.split if path.is_dir() else None)]
        except DataError as exc:
            raise DataError(f"{exc}, or curate the file with `notus data curate`") from None
    elif looks_local(spec.id):
        raise DataError(f"dataset {spec.id!r}: no such file or folder (relative to {Path.cwd()})")
    else:
        try:
            rows = [record.row for record in read_rows(spec.id, spec.split, spec.config)]
        except DataError as exc:
            raise DataError(
                f"dataset {spec.id!r} (split {spec.split!r}): {exc}. Offline, give a local file with "
                f"--dataset PATH"
            ) from None
    if spec.rename:
        rows = [{spec.rename.get(k, k): v for k, v in r.items()} for r in rows]
    if spec.columns:
        missing = [c for c in spec.columns if rows and c not in rows[0]]
        if missing:
            raise DataError(f"dataset {spec.id}: no column {missing[0]!r} (has {', '.join(rows[0])})")
        rows = [{k: r[k] for k in spec.columns} for r in rows]
    return rows


def load_mixture(mixture: DatasetMixture) -> tuple[list[dict], list[dict]]:
    """Rows of every dataset (each cut to its `weight`), shuffled by seed, split into (train, test);
    `eval_datasets` (alignment-handbook 2023 `dataset_splits[1:]`) are added whole to the test rows."""
    rng = random.Random(mixture.seed)
    rows: list[dict] = []
    for spec in mixture.datasets:
        part = load_spec(spec)
        rows.extend(part[: max(1, round(len(part) * spec.weight))] if spec.weight < 1 else part)
    rng.shuffle(rows)
    size = mixture.test_split_size or 0
    n_test = int(round(len(rows) * size)) if 0 < size < 1 else int(size)
    if rows and n_test >= len(rows):
        raise DataError(
            f"dataset_mixture.test_split_size={size} holds out {n_test} of {len(rows)} rows, leaving none to "
            "train on: set dataset_mixture.test_split_size to a fraction such as 0.05"
        )
    held_out = rows[:n_test]
    for spec in mixture.eval_datasets:
        held_out.extend(load_spec(spec))
    return rows[n_test:], held_out


def _as_messages(value: Any, role: str, where: str) -> list[dict]:
    if isinstance(value, str):
        return [{"role": role, "content": value}]
    if isinstance(value, list) and all(isinstance(m, dict) and "role" in m and "content" in m for m in value):
        return [{"role": m["role"], "content": m["content"]} for m in value]
    raise DataError(f"{where}: expected a string or a list of {{role, content}} messages, got {value!r:.80}")


def to_preference(row: dict, index: int) -> dict:
    """A row with prompt/chosen/rejected (text or messages) as TRL conversational lists."""
    for key in ("chosen", "rejected"):
        if key not in row:
            raise DataError(f"row {index}: missing field {key!r} (have {', '.join(row)})")
    chosen = _as_messages(row["chosen"], "assistant", f"row {index} field 'chosen'")
    rejected = _as_messages(row["rejected"], "assistant", f"row {index} field 'rejected'")
    if "prompt" in row and row["prompt"] is not None:
        prompt = _as_messages(row["prompt"], "user", f"row {index} field 'prompt'")
    else:  # implicit prompt: chosen/rejected are whole conversations sharing all but the last turn
        prompt, chosen, rejected = chosen[:-1], chosen[-1:], rejected[-1:]
    if chosen[-1]["role"] == "user" or not prompt:
        raise DataError(f"row {index}: chosen/rejected must end with an assistant message after a prompt")
    return {"prompt": prompt, "chosen": chosen, "rejected": rejected}


def to_conversation(row: dict, index: int) -> list[dict]:
    """An SFT row: `messages`, or prompt + completion, or a preference row's chosen side."""
    if "messages" in row:
        return _as_messages(row["messages"], "user", f"row {index} field 'messages'")
    if "prompt" in row and "completion" in row:
        return _as_messages(row["prompt"], "user", f"row {index}") + _as_messages(
            row["completion"], "assistant", f"row {index}"
        )
    if "chosen" in row:
        pair = to_preference(row, index)
        return pair["prompt"] + pair["chosen"]
    raise DataError(
        f"row {index}: SFT rows need 'messages', 'prompt'+'completion' or 'chosen' (have {list(row)})"
    )


class Templater:
    """Renders conversations with the tokenizer's chat template into token ids with an EOS-safe completion."""

    def __init__(self, tokenizer: Any):
        if not getattr(tokenizer, "chat_template", None):
            raise DataError("the tokenizer has no chat_template; use an instruct/chat model or set one")
        self.tokenizer = tokenizer
        self.eos = tokenizer.eos_token_id
        self.template = tokenizer.chat_template

    def ids(self, text: str) -> list[int]:
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    def prompt_ids(self, prompt: list[dict]) -> list[int]:
        return self.ids(
            self.tokenizer.apply_chat_template(prompt, tokenize=False, add_generation_prompt=True)
        )

    def completion_ids(self, prompt: list[dict], completion: list[dict]) -> list[int]:
        """Tokens the template adds after the generation prompt, cut right after the final EOS."""
        head = self.tokenizer.apply_chat_template(prompt, tokenize=False, add_generation_prompt=True)
        full = self.tokenizer.apply_chat_template(prompt + completion, tokenize=False)
        if not full.startswith(head):
            raise DataError("the chat template renders the prompt differently inside the full conversation")
        ids = self.ids(full[len(head) :])
        if self.eos in ids:  # drop what the template writes after the end-of-turn token ("\n")
            last = len(ids) - 1 - ids[::-1].index(self.eos)
            if not self.tokenizer.decode(ids[last + 1 :]).strip():
                ids = ids[: last + 1]
        if not ids or ids[-1] != self.eos:
            ids = ids + [self.eos]
        return ids


@dataclass
class PairTokens:
    prompt: list[int]
    chosen: list[int]
    rejected: list[int]

    @property
    def n_tokens(self) -> int:
        return len(self.prompt) + len(self.chosen) + len(self.rejected)


def tokenize_pairs(
    rows: list[dict], tokenizer: Any, max_length: int, max_prompt_length: int | None = None
) -> list[PairTokens]:
    templater = Templater(tokenizer)
    out = []
    for i, row in enumerate(rows):
        pair = to_preference(row, i)
        prompt = templater.prompt_ids(pair["prompt"])
        if max_prompt_length is not None:
            prompt = prompt[-max_prompt_length:]
        prompt = prompt[:max_length]
        room = max_length - len(prompt)
        chosen = templater.completion_ids(pair["prompt"], pair["chosen"])[:room]
        rejected = templater.completion_ids(pair["prompt"], pair["rejected"])[:room]
        out.append(PairTokens(prompt, chosen, rejected))
    return out


@dataclass
class SFTTokens:
    ids: list[int]
    labels_mask: list[bool]  # True where the loss applies (assistant tokens)


def tokenize_conversations(
    rows: list[dict], tokenizer: Any, max_length: int, assistant_only: bool = True
) -> list[SFTTokens]:
    """Each assistant turn's tokens (ending with EOS) are trained; everything else is context."""
    templater = Templater(tokenizer)
    out = []
    for i, row in enumerate(rows):
        messages = to_conversation(row, i)
        ids: list[int] = []
        mask: list[bool] = []
        for j, message in enumerate(messages):
            if message["role"] != "assistant":
                continue
            head = templater.prompt_ids(messages[:j])
            context = head[len(ids) :]
            turn = templater.completion_ids(messages[:j], [message])
            ids += context + turn
            mask += [not assistant_only] * len(context) + [True] * len(turn)
        if not ids:
            raise DataError(f"row {i}: the conversation has no assistant message to learn from")
        out.append(SFTTokens(ids[:max_length], mask[:max_length]))
    return out


def curation_summary(rows: list[dict]) -> dict[str, Any]:
    """What the model card says about the data: counts of the provenance columns `notus data` writes
    (strategy, source, margin, chosen/rejected scores, chosen model), over the rows that carry them."""
    summary: dict[str, Any] = {"rows": len(rows)}
    for key in ("strategy", "source", "chosen_model"):
        values = Counter(str(r[key]) for r in rows if r.get(key) not in (None, ""))
        if values:
            summary[f"{key}_counts"] = dict(values.most_common(10))
    for key in ("margin", "score_chosen", "score_rejected"):
        values = [float(r[key]) for r in rows if isinstance(r.get(key), int | float)]
        if values:
            summary[f"{key}_mean"] = round(sum(values) / len(values), 4)
    margins = [r["margin"] for r in rows if isinstance(r.get("margin"), int | float)]
    if margins:
        summary["ties"] = sum(m == 0 for m in margins)
    return summary


def curation_sidecars(mixture: DatasetMixture) -> dict[str, Any]:
    """The `<name>.curation.json` files `notus data binarize -o <name>.jsonl` leaves next to its output
    (rows in/out by reason, strategy, options), for each local dataset of the mixture that has one."""
    found = {}
    for spec in mixture.datasets:
        path = Path(spec.id).expanduser()
        stem = path.name.split(".")[0]
        for name in (stem, stem.rsplit("_", 1)[0]):  # pairs_train.jsonl comes from -o pairs.jsonl
            sidecar = path.with_name(f"{name}.curation.json")
            if sidecar.is_file():
                found[spec.id] = json.loads(sidecar.read_text(encoding="utf-8"))
                break
    return found


def tokens_hash(items: list[Any]) -> str:
    digest = hashlib.sha256()
    for item in items:
        digest.update(json.dumps(item.__dict__, separators=(",", ":")).encode())
    return digest.hexdigest()
