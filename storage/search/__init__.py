"""Full-text search: the indexed text, the index, the query language,
ranked search and snippets."""
