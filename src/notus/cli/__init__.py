"""The `notus` command line: one module per command group, heavy imports inside the commands."""
