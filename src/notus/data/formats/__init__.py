"""Preference-data formats: detect which one a file holds and map its rows to three canonical kinds.

    fmt = detect_format(records)            # or FORMATS.get("sharegpt_dpo") from --format
    rows, rejects = fmt.to_canonical(records)
    notus data inspect INPUT [--format NAME]    # the command that shows what was detected

Canonical kinds:
- `rated`: the raw openbmb/UltraFeedback schema (`instruction`, `source`, `completions[]` with
  `model`, `response`, `annotations{aspect: {Rating}}`, `overall_score`, `critique`); binarize it.
- `pairs`: TRL conversational preference rows (`prompt`, `chosen`, `rejected` message lists) plus
  provenance (`score_chosen`, `score_rejected`, `source`, models); convert it.
- `unpaired`: TRL unpaired/KTO rows (`prompt`, `completion` message lists, `label` bool).
"""

from notus.data.formats import pairs, rated, unpaired  # noqa: F401  (each module registers its formats)
from notus.data.formats.base import FORMATS, Format, RowError, detect_format, messages

__all__ = ["FORMATS", "Format", "RowError", "detect_format", "messages"]
