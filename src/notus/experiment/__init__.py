"""`notus run`: an experiment is the toolkit's stages chained (recipe.py), run (run.py), reported (report.py)."""
