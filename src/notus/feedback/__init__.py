"""AI feedback: completions from several models or principles, UltraFeedback-style judging."""
