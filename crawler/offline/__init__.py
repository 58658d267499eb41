"""Work on archived bytes without fetching: reprocess, WARC import."""
