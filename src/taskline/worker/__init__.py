"""Running tasks: the handler registry (`App`), the worker runner, and the transports it uses."""
