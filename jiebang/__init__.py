"""Jiebang (揭榜): entry points — CLI, settings, and the local replay site of sample sources."""
