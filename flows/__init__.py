"""Thin Prefect flows: each task calls one library function; settings are resolved at the flow."""
