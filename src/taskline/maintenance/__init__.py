"""Background duties of a server: forwarding due tasks, recovering expired leases, retention."""
