"""Scrapy settings for Silkroad Archive.

Everything is tunable with Scrapy's own settings (``-s NAME=VALUE`` on
``scrapy crawl seeds`` and ``silkroad crawl``); our own carry the
``SILKROAD_`` prefix. Defaults are polite to news sites we do not control.
"""

from __future__ import annotations

from crawler import __version__

BOT_NAME = "silkroad"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"

# -- our own ---------------------------------------------------------------------
SEEDS_FILE = "seeds/sources.toml"
SILKROAD_DB = None  # None: --db, else $SILKROAD_DB, else sqlite:///archive.sqlite
SILKROAD_CONTACT_URL = "https://github.com/silkroad-archive/silkroad-archive"
SILKROAD_TRIGGER = "manual"  # manual | schedule | demo: recorded on the run
SILKROAD_RUN_ID = None  # set by a launcher that created the crawl_runs row itself
SILKROAD_EXTRACT_PROCESSES = None  # None: one per CPU; 0: extract in the crawl process
SILKROAD_TOPIC_PROFILE = None  # path of a topic profile TOML; None: the packaged one
SILKROAD_TOPIC_THRESHOLD = None  # None: the profile's own threshold
# Skip extraction on pages whose whole text does not name both China and Central Asia:
# they cannot be kept, and extraction is most of a crawl's CPU (crawler/analysis/page_text.py).
SILKROAD_TOPIC_PREFILTER = True
SILKROAD_BATCH_SIZE = 50  # pages per write transaction
SILKROAD_BATCH_SECONDS = 0.05  # how long an idle writer gathers pages into one transaction
SILKROAD_BATCH_BYTES = None  # body bytes that close a batch; None: SCRAPER_SLOT_MAX_ACTIVE_SIZE / 4
SILKROAD_FOCUSED_CRAWL = True  # fetch links that promise on-topic articles first
SILKROAD_RESUME = True  # continue an interrupted crawl from its database frontier
# Crawl workers (crawler/frontier_scheduler.py): every crawl is one worker of a session
# whose frontier is in the archive; `silkroad crawl --workers N` and `silkroad worker` add more.
SILKROAD_SESSION_ID = None  # join this crawl session (set by `silkroad worker`)
# URLs one worker holds claimed and not yet stored, over all its hosts: what a kill -9
# of it costs at most in pages fetched twice. None: CONCURRENT_REQUESTS (it bounds those too).
SILKROAD_CLAIM_BATCH = None
# A page budget shared by crawl workers (`crawl --workers N --max-pages M` sets both):
# the runs named claim at most this many URLs together. One process: CLOSESPIDER_PAGECOUNT.
SILKROAD_PAGE_BUDGET = None
SILKROAD_PAGE_BUDGET_RUNS = None  # run ids sharing it, comma-separated; None: this run alone
SILKROAD_WORKER_HOSTS = None  # hosts one worker leases at most; None: CONCURRENT_REQUESTS
SILKROAD_HEARTBEAT_SECONDS = 5.0  # renews the worker's leases and its run's heartbeat
SILKROAD_LEASE_SECONDS = 30.0  # a host lease not renewed for this long is anyone's
# Work one document can make us do, on the reactor thread (crawler/spiders/page_links.py).
# Links: real news pages carry 100-600, navigation included; a link farm 50,000, which
# cost 2 s of link extraction alone, and a request and a frontier row each.
SILKROAD_MAX_LINKS_PER_PAGE = 1000  # anchors examined per page, in document order
SILKROAD_MAX_FEED_ENTRIES = 1000  # news feeds list 10-100 items
SILKROAD_MAX_SITEMAP_ENTRIES = 5000  # per sitemap, index or robots.txt (news sitemaps: 1000)
# Google reads the first 500 KiB of a robots.txt; Scrapy would read DOWNLOAD_MAXSIZE (16 MiB,
# 1 GB of memory to parse). A longer one is read up to its last full line within this.
SILKROAD_ROBOTSTXT_MAXSIZE = 512 * 1024

# -- identity: an honest User-Agent with a way to reach us -------------------------
USER_AGENT_TEMPLATE = (
    f"SilkroadArchive/{__version__} (news archive research crawler; +{{contact}})"
)
# The spider fills the template with SILKROAD_CONTACT_URL unless USER_AGENT is set.
USER_AGENT = USER_AGENT_TEMPLATE.format(contact=SILKROAD_CONTACT_URL)
ROBOTSTXT_OBEY = True
ROBOTSTXT_USER_AGENT = "SilkroadArchive"

# -- politeness --------------------------------------------------------------------
# Politeness is per site (the delays and the per-domain cap below). The global cap only
# bounds our own sockets and memory, and in Scrapy a request waiting out its site's delay
# holds one of its places: at Scrapy's 16, a crawl of 126 sites spent most of its time
# waiting (17 pages/s; 40 at 64, same delays; tests/benchmarks/throughput.py, as shipped).
CONCURRENT_REQUESTS = 64
CONCURRENT_REQUESTS_PER_DOMAIN = 4
DOWNLOAD_DELAY = 0.5
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 2.0
RETRY_TIMES = 2
RETRY_GIVE_UP_LOG_LEVEL = "INFO"  # a dead link is counted in the run, not an error to shout
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]

# -- limits sized for news pages, not Scrapy's 180 s / 1 GiB -------------------------
DOWNLOAD_TIMEOUT = 20
DOWNLOAD_MAXSIZE = 16 * 1024 * 1024
DOWNLOAD_WARNSIZE = 4 * 1024 * 1024
DEPTH_LIMIT = 3
DEPTH_PRIORITY = 0
CLOSESPIDER_PAGECOUNT = 0  # the per-crawl page budget; 0 = none (--max-pages sets it)
REDIRECT_MAX_TIMES = 5
METAREFRESH_ENABLED = False

# -- throughput on our side (no effect on the sites we crawl) ------------------------
# Scrapy starts CONCURRENT_ITEMS tasks for each response's output; a page yields one
# item and its links, so its default of 100 only costs CPU on the reactor thread.
CONCURRENT_ITEMS = 8
# Response bytes held by pages waiting for extraction and storage (each also keeps its
# parsed tree): above this Scrapy fetches nothing until pages are stored. 2 MB keeps
# about a dozen news pages queued, plenty for a few extraction processes; Scrapy's 5 MB
# only costs memory. Raise it with many SILKROAD_EXTRACT_PROCESSES.
SCRAPER_SLOT_MAX_ACTIVE_SIZE = 2_000_000

# -- safety: no remote control, no telnet ------------------------------------------
REMOTE_CONTROL_ENABLED = False
TELNETCONSOLE_ENABLED = False
COOKIES_ENABLED = False
# http(s) only: no file:, ftp:, data: or s3: downloads, whatever a page links to.
DOWNLOAD_HANDLERS = {"file": None, "ftp": None, "data": None, "s3": None}
# Refuse private, loopback and link-local addresses the seeds file does not name
# (crawler/middlewares/ssrf.py).
SILKROAD_SSRF_GUARD = True
# Retries wait for Retry-After, else 1 s, 2 s, 4 s ...; a longer Retry-After is not waited for.
SILKROAD_RETRY_BACKOFF = 1.0
SILKROAD_RETRY_BACKOFF_MAX = 60.0

HTTPERROR_ALLOWED_CODES = [304]  # a conditional re-crawl's "not modified" is a revisit

DOWNLOADER_MIDDLEWARES = {
    # Ours scopes by the seeds' sources, redirects and retries included.
    "scrapy.downloadermiddlewares.offsite.OffsiteMiddleware": None,
    "crawler.middlewares.scope.SourceScopeMiddleware": 50,
    "crawler.middlewares.ssrf.SsrfGuardMiddleware": 60,
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "crawler.middlewares.backoff.BackoffRetryMiddleware": 550,
    "crawler.middlewares.conditional.ConditionalGetMiddleware": 560,
    # Below HttpCompressionMiddleware (590): it cuts robots.txt once decompressed.
    "crawler.middlewares.robots_size.RobotsTxtSizeMiddleware": 580,
}

# Requests live in the archive's frontier, shared by the session's workers: the frontier
# is the dupefilter, and one worker at a time fetches from a host.
SCHEDULER = "crawler.frontier_scheduler.FrontierScheduler"

SILKROAD_PROMPT_CLOSE = True
EXTENSIONS = {
    # Once the page budget is spent or SIGTERM came, nothing queued is fetched.
    "crawler.extensions.prompt_close.PromptClose": 0,
    # The crawl's archive, opened and migrated once; its run row; its frontier. Built in
    # this order, before the engine, so the pipelines and middlewares find them
    # (crawler.get_extension), and the run is closed before the archive.
    "crawler.extensions.archive_database.ArchiveDatabase": 1,
    "crawler.extensions.run_record.RunRecord": 2,
    "crawler.extensions.frontier_recorder.FrontierRecorder": 3,
}

ITEM_PIPELINES = {
    "crawler.pipelines.analyse.AnalysePipeline": 100,
    "crawler.pipelines.archive.ArchivePipeline": 800,
}

DEFAULT_DROPITEM_LOG_LEVEL = "DEBUG"
LOG_LEVEL = "INFO"
FEED_EXPORT_ENCODING = "utf-8"
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
