"""Page analysis, pure: bytes in, ``PageAnalysis`` out.

Imports neither SQLAlchemy nor Scrapy, so extraction workers stay small
(``tests/test_architecture.py`` guards it)."""
