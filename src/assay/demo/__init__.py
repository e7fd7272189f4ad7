"""The demo: the organizations of the order, their users, and the main job, on a fresh instance."""
