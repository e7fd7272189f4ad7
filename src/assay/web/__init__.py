"""The server-rendered UI: Jinja2 templates and vendored htmx."""
