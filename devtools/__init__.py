"""Dev tools: the benchmarks, the local replay of the sources and its sample data.

They use the application (jiebang, flows and below); nothing in production imports them, except
the `jiebang demo` and `jiebang bench` commands, inside those commands."""
