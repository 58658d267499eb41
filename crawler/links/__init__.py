"""Link handling, pure: canonical URLs, discovery in feeds and sitemaps,
link ranking and source scope. No Scrapy, no SQLAlchemy."""
