"""Evaluation: AlpacaEval, MT-Bench, lm-eval-harness, preference accuracy; pure metric functions."""
