"""Storage: SQLAlchemy models behind repositories and a unit of work."""
