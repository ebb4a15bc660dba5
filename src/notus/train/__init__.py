"""Training stages (SFT, DPO and variants) driven by typed recipes, on top of TRL."""
