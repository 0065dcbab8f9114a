"""Uploaded reference files: where they are stored and how their text is read."""
