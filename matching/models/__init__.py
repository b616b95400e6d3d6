"""Model files the matching engine ships (JSON, written by `jiebang train` and `jiebang train-industry`)."""
