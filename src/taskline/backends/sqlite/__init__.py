"""The embedded SQLite backend: one file, WAL mode, one writer thread with group commit."""
