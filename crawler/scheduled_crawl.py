"""Old home of the scheduled-crawl job, kept because job stores hold its path.

Archives scheduled before the move to ``crawler.scheduling`` store the job
function as ``crawler.scheduled_crawl:run_scheduled_crawl``.
"""

from crawler.scheduling.scheduled_crawl import run_scheduled_crawl

__all__ = ["run_scheduled_crawl"]
