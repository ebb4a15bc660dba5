"""The model contract and its backends. Import `notus.llm.contract` for types; backends load lazily."""
