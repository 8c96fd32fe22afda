"""handlers/reader."""
