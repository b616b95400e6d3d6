"""Pure readers of source formats (API XML / JSON → plain dicts), shared by spiders and tools."""
