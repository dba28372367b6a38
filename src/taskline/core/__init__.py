"""The pure task domain: states, priorities, backoff, ids, clocks and the task record. No I/O."""
