"""Program A: pre-release review of frontier models."""
