"""Signals of our own, beside Scrapy's."""

# Sent by the spider when responses that yield no page item (feeds, sitemaps,
# robots.txt, failures) are fully handled. Arguments: urls (list of str).
frontier_done = object()
