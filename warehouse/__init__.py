"""The DuckDB warehouse: versioned schema, one gateway that runs all SQL, and the queries."""
