"""Generation: planning and writing decks from a prompt (issue 3, in progress)."""
