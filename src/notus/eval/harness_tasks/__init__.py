"""lm-evaluation-harness task YAMLs reading the benchmark files from disk (see notus/eval/harness.py).

`__DATA__` in the YAMLs is replaced by the absolute benchmark folder (e.g. ../shared/data/benchmarks)
when `notus eval harness --offline-data DIR` writes them to `OUTPUT/tasks/` for `--include_path`."""
