"""The dataset card pushed with `notus data ... --push-to-hub REPO_ID`, built with huggingface_hub's
DatasetCard: Hub metadata (license, tags, task categories, size, source datasets) and the curation ledger
(rows in and out by reason, options), so whoever loads the dataset sees how it was made.
"""

from __future__ import annotations

import json
from typing import Any

from notus.core.errors import NotusError

TEMPLATE = """---
{{ card_data }}
---

# {{ repo_id }}

Preference data curated by notus from `{{ source }}` ({{ what }}).

## Splits

| split | rows |
|---|---|
{% for name, rows in splits.items() -%}
| {{ name }} | {{ rows }} |
{% endfor %}
## How it was made

Rows in and out, by reason, and the options of the run:

```json
{{ curation }}
```

Load it with `datasets.load_dataset("{{ repo_id }}")`; train on it with
`notus train dpo RECIPE --dataset {{ repo_id }}` or a recipe whose `dataset_mixture` names it.
"""

SIZES = [(1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K")]  # Hub size_categories


def dataset_card(repo_id: str, splits: dict[str, int], curation: dict[str, Any]) -> Any:
    from huggingface_hub import DatasetCard, DatasetCardData

    from notus.train.data import looks_local

    source = str(curation.get("input", ""))
    total = sum(splits.values())
    size = next((label for limit, label in SIZES if total < limit), "100K<n<1M")
    data = DatasetCardData(
        license=curation.get("license") or "other",
        tags=["notus", "dpo", "preference", "ultrafeedback"],
        task_categories=["text-generation"],
        size_categories=[size],
        source_datasets=[source] if source and not looks_local(source) else None,
    )
    strategy = (curation.get("options") or {}).get("strategy")
    what = f"binarized with the `{strategy}` strategy" if strategy else "curated"
    return DatasetCard.from_template(
        data,
        template_str=TEMPLATE,
        repo_id=repo_id,
        source=source if not looks_local(source) else source.rsplit("/", 1)[-1],
        what=what,
        splits=splits,
        curation=json.dumps({k: v for k, v in curation.items() if k != "input"}, indent=2, default=str),
    )


def push_dataset(splits: dict[str, list[dict]], repo_id: str, curation: dict[str, Any]) -> str:
    """Push the splits and their card; raise NotusError with one line when offline or refused."""
    from datasets import Dataset, DatasetDict

    try:
        DatasetDict({k: Dataset.from_list(v) for k, v in splits.items()}).push_to_hub(repo_id)
        card = dataset_card(repo_id, {k: len(v) for k, v in splits.items()}, curation)
        card.push_to_hub(repo_id, repo_type="dataset")
    except Exception as exc:  # offline, no token, no rights: the local output is already written
        reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise NotusError(
            f"--push-to-hub {repo_id}: not pushed ({reason}); the local output is complete "
            "(log in with `hf auth login`, check the network)"
        ) from None
    return f"pushed to https://huggingface.co/datasets/{repo_id} (with its dataset card)"
