"""handlers/ui."""
