from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from crawler.cli.main import cli
from crawler.errors import SeedsError
from crawler.seeds import load_seeds

REPO_SEEDS = Path(__file__).resolve().parent.parent / "seeds" / "sources.toml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sources.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_bundled_seeds_hold_the_seed_articles_sources() -> None:
    seeds = load_seeds(REPO_SEEDS)
    all_urls = [u for s in seeds.sources for u in s.start_urls()]
    assert any("news.cgtn.com" in u and "1EkeK8TAnkY" in u for u in all_urls)
    assert "https://moderndiplomacy.eu/feed/" in all_urls
    assert "https://politics.gmw.cn/2026-01/20/content_38547721.htm" in all_urls
    assert "https://reportify.ai/news/1211016745926660096" in all_urls
    assert "https://24.kg/rss/" in all_urls
    names = {s.name for s in seeds.sources}
    assert {"CGTN", "Modern Diplomacy", "Guangming Daily", "The Astana Times"} <= names


def test_allowed_domains_default_to_hosts_of_urls(tmp_path: Path) -> None:
    seeds = load_seeds(write(tmp_path, """
[[sources]]
name = "A"
urls = ["http://127.0.0.2:8080/", "http://127.0.0.3:8080/x"]
feeds = ["http://127.0.0.2:8080/feed.xml"]
"""))
    assert seeds.sources[0].allowed_domains == ("127.0.0.2:8080", "127.0.0.3:8080")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[sources]]\nname = 'A'\nurls = [", "malformed TOML"),
        ("title = 'x'", "no [[sources]]"),
        ("[[sources]]\nurls = ['http://a/']", "needs a non-empty `name`"),
        ("[[sources]]\nname = 'A'", "needs at least one of urls"),
        ("[[sources]]\nname = 'A'\nurls = ['ftp://a/']", "not an http(s) URL"),
        ("[[sources]]\nname = 'A'\nurls = ['http://a/']\nfeed = ['x']", "unknown key(s) feed"),
        ("[[sources]]\nname='A'\nurls=['http://a/']\n[[sources]]\nname='A'\nurls=['http://b/']",
         "must be unique"),
        ("[[sources]]\nname = 'A'\nurls = ['http://a/']\nallowed_domains = 'a'", "allowed_domains"),
    ],
)
def test_bad_seeds_give_one_line_errors(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(SeedsError) as info:
        load_seeds(write(tmp_path, text))
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_seeds_file(tmp_path: Path) -> None:
    with pytest.raises(SeedsError, match="seeds file not found"):
        load_seeds(tmp_path / "nope.toml")


BAD_PORTS = ["http://127.0.0.1:181020/", "http://127.0.0.1:abc/", "http://127.0.0.1:-1/",
             "http://host:1:2/", "http://127.0.0.1:0/"]


@pytest.mark.parametrize("key", ["urls", "feeds", "sitemaps"])
@pytest.mark.parametrize("url", BAD_PORTS)
def test_a_bad_port_is_a_one_line_error_naming_source_and_url(tmp_path: Path, key: str,
                                                               url: str) -> None:
    text = f"[[sources]]\nname = 'Port Wire'\nurls = ['http://127.0.0.1:8080/']\n{key} = ['{url}']"
    if key == "urls":
        text = f"[[sources]]\nname = 'Port Wire'\nurls = ['{url}']"
    with pytest.raises(SeedsError) as info:
        load_seeds(write(tmp_path, text))
    message = str(info.value)
    assert "'Port Wire'" in message and f"`{key}`" in message and repr(url) in message
    assert "bad port" in message and "\n" not in message


@pytest.mark.parametrize("domain", ["127.0.0.1:181020", "host:abc", "host:-1", "host:1:2",
                                    "http://host/", "host/path", ":8080"])
def test_a_bad_allowed_domain_is_a_one_line_error(tmp_path: Path, domain: str) -> None:
    text = (f"[[sources]]\nname = 'A'\nurls = ['http://host/']\n"
            f"allowed_domains = ['host', '{domain}']")
    with pytest.raises(SeedsError) as info:
        load_seeds(write(tmp_path, text))
    assert "`allowed_domains`" in str(info.value) and repr(domain) in str(info.value)


def test_good_ports_and_domains_still_load(tmp_path: Path) -> None:
    seeds = load_seeds(write(tmp_path, (
        "[[sources]]\nname = 'A'\nurls = ['http://127.0.0.1:65535/', 'https://[::1]:8443/x']\n"
        "allowed_domains = ['127.0.0.1:65535', '[::1]:8443', 'Example.org']")))
    assert seeds.sources[0].allowed_domains == ("127.0.0.1:65535", "[::1]:8443", "example.org")


@pytest.mark.parametrize("url", BAD_PORTS[:4])
def test_crawl_with_a_bad_port_exits_2_in_one_line(tmp_path: Path, url: str) -> None:
    seeds = write(tmp_path, f"[[sources]]\nname = 'Port Wire'\nurls = ['{url}']")
    result = CliRunner().invoke(cli, ["crawl", "--seeds", str(seeds),
                                      "--db", f"sqlite:///{tmp_path / 'a.sqlite'}"])
    assert result.exit_code == 2, (result.output, result.exception)
    assert result.stderr.strip().startswith("Error:") and url in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "a.sqlite").exists()
