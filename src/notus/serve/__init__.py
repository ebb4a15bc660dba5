"""OpenAI-compatible chat server and web chat page."""
