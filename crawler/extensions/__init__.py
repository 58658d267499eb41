"""Scrapy extensions: cross-cutting crawl concerns reached through the crawler."""
