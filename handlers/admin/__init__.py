"""handlers/admin."""
