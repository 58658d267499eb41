"""Silkroad Archive: the Scrapy project and the Scrapy-free core it calls."""

__version__ = "0.1.0"
