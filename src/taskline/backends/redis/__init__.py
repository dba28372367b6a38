"""The Redis backend: every transition one Lua script over cluster-safe, per-queue keys."""
