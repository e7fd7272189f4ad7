"""The HTTP API: one FastAPI application that mounts each domain's router."""
