"""Full-text search for French-language diplomatic press."""
