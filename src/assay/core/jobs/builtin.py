"""Placeholder: built-in job handlers are being built."""
