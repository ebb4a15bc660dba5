"""notus: data-first alignment of chat LLMs (AI feedback -> curation -> SFT/DPO -> evaluation -> chat)."""

__version__ = "0.1.0"
