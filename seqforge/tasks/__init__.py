"""Task plugins shipped with the core."""
