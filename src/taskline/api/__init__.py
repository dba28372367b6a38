"""The HTTP API (SPEC §3–4): FastAPI routes over `TaskService`."""
