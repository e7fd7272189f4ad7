"""The model gateway: agencies reach a developer's model through Assay, never with its key."""
