"""PostgreSQL history (TASKLINE_POSTGRES_URL): terminal tasks archived to a `tasks` table.

`store` opens the pool and applies `schema`'s migrations; `rows` maps a task to its row and
back; `archiver` copies the live backend's archive outbox into the table; `reader` serves
`GET /api/v1/tasks/{id}`'s fallback and `?source=history` listings.
"""
