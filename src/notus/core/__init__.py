"""Shared types, recipes, errors and registries. Imports nothing heavy."""
