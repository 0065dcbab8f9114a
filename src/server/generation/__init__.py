"""Generation: the writers that plan and write a deck, and the worker that runs jobs."""
