"""Jiebang (揭榜): the application — entry points (CLI, settings) and the services they compose."""
