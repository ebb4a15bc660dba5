"""Shared data types. Conversations are plain lists of {"role", "content"} dicts (TRL's format)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, TypedDict

Role = Literal["system", "user", "assistant"]

# The UltraFeedback schema (openbmb/UltraFeedback), written by `notus feedback` and read by `notus data`:
ASPECTS = ("instruction_following", "honesty", "truthfulness", "helpfulness")  # the dataset's order
PRINCIPLES = ("helpfulness", "honesty", "truthfulness", "verbalized_calibration")  # system prompts
RATINGS = ("1", "2", "3", "4", "5")  # an aspect's "Rating" text ...
NOT_APPLICABLE = "N/A"  # ... or this, also a rating (the rubric's "not applicable")


class Message(TypedDict):
    role: Role
    content: str


Conversation = list[Message]


@dataclass
class PreferencePair:
    """One DPO example in TRL's conversational format plus where it came from."""

    prompt: Conversation
    chosen: Conversation
    rejected: Conversation
    score_chosen: float | None = None
    score_rejected: float | None = None
    meta: dict = field(default_factory=dict)

    def to_row(self) -> dict:
        return {
            "prompt": self.prompt,
            "chosen": self.chosen,
            "rejected": self.rejected,
            "score_chosen": self.score_chosen,
            "score_rejected": self.score_rejected,
            **self.meta,
        }
