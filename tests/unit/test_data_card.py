"""The dataset card pushed with `--push-to-hub`: valid huggingface_hub metadata, the curation ledger,
no local paths; offline, one clear error and the local output kept."""

from __future__ import annotations

import pytest
from huggingface_hub import DatasetCard

from notus.core.errors import NotusError
from notus.data.card import dataset_card, push_dataset

CURATION = {
    "input": "/home/me/private/uf_raw.jsonl",
    "options": {"strategy": "notus", "seed": 42},
    "ledger": {"rows_in": 100, "rows_out": 90, "dropped": {"ties": 10}},
    "splits": {"train": 80, "test": 10},
}


def test_dataset_card_metadata_round_trips_without_local_paths(tmp_path):
    card = dataset_card("someone/uf-notus", {"train": 80, "test": 10}, CURATION)
    card.save(tmp_path / "README.md")
    loaded = DatasetCard.load(tmp_path / "README.md")
    data = loaded.data.to_dict()
    assert data["size_categories"] == ["n<1K"] and "notus" in data["tags"]
    assert "source_datasets" not in data  # a local file is not a Hub dataset
    assert "/home/me" not in loaded.content and "uf_raw.jsonl" in loaded.text
    assert '"rows_in": 100' in loaded.text and "binarized with the `notus` strategy" in loaded.text


def test_a_hub_source_is_named_as_a_source_dataset():
    card = dataset_card("someone/uf-notus", {"train": 5}, {**CURATION, "input": "openbmb/UltraFeedback"})
    assert card.data.to_dict()["source_datasets"] == ["openbmb/UltraFeedback"]


def test_push_offline_is_one_clear_error(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(NotusError, match="someone/uf-notus: not pushed") as info:
        push_dataset(
            {"train": [{"prompt": "p", "chosen": "a", "rejected": "b"}]}, "someone/uf-notus", CURATION
        )
    assert "\n" not in str(info.value)
