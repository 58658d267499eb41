"""The crawl names itself honestly, with the contact URL of whoever runs it."""

from __future__ import annotations

import os

from scrapy.utils.project import get_project_settings

from crawler.spiders.seeds import SeedsSpider

os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "crawler.settings")


def settings_with(**cmdline: str):  # type: ignore[no-untyped-def]
    settings = get_project_settings()
    for name, value in cmdline.items():
        settings.set(name, value, priority="cmdline")
    SeedsSpider.update_settings(settings)
    return settings


def test_default_user_agent_names_the_project_not_scrapy() -> None:
    agent = settings_with()["USER_AGENT"]
    assert agent.startswith("SilkroadArchive/") and "Scrapy" not in agent and "+http" in agent


def test_contact_url_setting_goes_into_the_user_agent() -> None:
    agent = settings_with(SILKROAD_CONTACT_URL="mailto:desk@example.org")["USER_AGENT"]
    assert agent.startswith("SilkroadArchive/") and agent.endswith("+mailto:desk@example.org)")


def test_an_explicit_user_agent_wins() -> None:
    assert settings_with(USER_AGENT="Desk/2", SILKROAD_CONTACT_URL="x")["USER_AGENT"] == "Desk/2"
