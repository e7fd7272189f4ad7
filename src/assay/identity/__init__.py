"""Organizations, users, API tokens and web logins."""
