"""Faster paths through Whoosh that read its private internals: kept here, each tested
against Whoosh's public answer, so that the rest of the code sees plain queries and data."""
