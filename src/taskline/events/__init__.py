"""Events: what happened to tasks and workers, as SPEC §3's `/ws` and `AsyncClient.events()` tell it."""
