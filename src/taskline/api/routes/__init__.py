"""One module per group of routes; each route parses, calls the service, renders."""
