"""Crawls on a schedule: the APScheduler service, its jobs, and the
child process each scheduled crawl runs in."""
