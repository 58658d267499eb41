"""Signals of our own, beside Scrapy's."""

# Sent by the spider when responses that yield no page item (feeds, sitemaps,
# robots.txt, failures) are fully handled. Arguments: urls (list of str).
frontier_done = object()

# Sent by the frontier scheduler when it recorded new requests for the frontier:
# the archive writer should write them soon (they are fetched once stored). No arguments.
frontier_added = object()

# Sent by the archive pipeline, on the reactor thread, once a transaction that marked
# frontier entries done has committed. Arguments: urls (list of str, every URL marked
# done), added (int, new requests written).
frontier_committed = object()
