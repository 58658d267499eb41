"""Dependencies point one way: pure analysis <- storage <- Scrapy glue <- CLI.

Every module of ``crawler``, ``storage`` and ``migrations`` is parsed (imports
inside functions included) and each import of project code is checked against
the layer of the importing module. The pure layer must not import Scrapy,
Twisted, SQLAlchemy or Alembic either, so that extraction workers stay small,
and migration revisions import no application code at all (frozen history).
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

# Most specific prefix first; a module belongs to the first layer whose prefix it matches.
LAYER_OF_PREFIX: list[tuple[str, int]] = [
    ("crawler.cli", 3),
    ("crawler.browse", 3),  # presentation in the browser: Datasette templates and plugin
    ("crawler.__main__", 3),
    ("crawler.analysis", 0),
    ("crawler.links", 0),
    ("crawler.errors", 0),
    ("crawler.timeutil", 0),
    ("crawler.vocabulary", 0),
    ("crawler.seeds", 0),
    ("crawler.__version__", 0),
    ("storage", 1),
    ("crawler.reporting", 2),  # the coverage report: above storage, beside the Scrapy glue
    ("crawler", 2),  # Scrapy glue: spiders, middlewares, pipelines, extensions, scheduling ...
]
LAYER_NAMES = {0: "pure core (analysis, links)", 1: "storage", 2: "Scrapy glue, reporting",
               3: "CLI and browser"}
PURE_FORBIDDEN = ("scrapy", "twisted", "sqlalchemy", "alembic")


def layer(module: str) -> int | None:
    if module == "crawler":
        return 0  # the package itself only holds the version
    for prefix, number in LAYER_OF_PREFIX:
        if module == prefix or module.startswith(prefix + "."):
            return number
    return None


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(source: str, module: str, is_package: bool = False) -> list[str]:
    """Every module a source imports, relative imports resolved."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module.split(".")
                package = package if is_package else package[:-1]
                package = package[: len(package) - (node.level - 1)]
                base = ".".join([*package, base] if base else package)
            found.append(base)
            found.extend(f"{base}.{alias.name}" for alias in node.names)
    return found


def violations(module: str, source: str, is_package: bool = False) -> list[str]:
    """The imports of ``module`` that break the direction of dependencies."""
    own = layer(module)
    if own is None:
        return []
    wrong = []
    for target in imported_modules(source, module, is_package):
        top = target.split(".")[0]
        if own == 0 and top in PURE_FORBIDDEN:
            wrong.append(f"{module} ({LAYER_NAMES[own]}) imports {target}")
            continue
        target_layer = layer(target) if top in ("crawler", "storage") else None
        if target_layer is not None and target_layer > own:
            wrong.append(f"{module} ({LAYER_NAMES[own]}) imports {target} "
                         f"({LAYER_NAMES[target_layer]})")
    return sorted(set(wrong))


def project_modules(*packages: str) -> list[Path]:
    return sorted(p for package in packages for p in (REPO / package).rglob("*.py"))


@pytest.mark.parametrize("path", project_modules("crawler", "storage"),
                         ids=lambda p: str(p.relative_to(REPO)))
def test_imports_point_one_way(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    assert violations(module_name(path), source, path.name == "__init__.py") == []


@pytest.mark.parametrize("path", project_modules("migrations/versions"),
                         ids=lambda p: p.name)
def test_migrations_import_no_application_code(path: Path) -> None:
    imports = imported_modules(path.read_text(encoding="utf-8"), "migrations.versions.x")
    assert [m for m in imports if m.split(".")[0] in ("crawler", "storage")] == []


@pytest.mark.parametrize(("module", "source", "expected"), [
    ("crawler.analysis.topic", "from storage.models import Article", "imports storage.models"),
    ("crawler.links.urls", "import scrapy", "imports scrapy"),
    ("crawler.analysis.extraction", "def f():\n    from sqlalchemy import select",
     "imports sqlalchemy"),
    ("storage.archive", "from crawler.pipelines.archive import ArchivePipeline",
     "imports crawler.pipelines.archive"),
    ("crawler.pipelines.archive", "from crawler.cli.common import fail", "imports crawler.cli"),
    ("crawler.analysis.topic", "from ..spiders.seeds import SeedsSpider",
     "imports crawler.spiders.seeds"),
])
def test_the_check_catches_a_wrong_import(module: str, source: str, expected: str) -> None:
    found = violations(module, source)
    assert any(expected in v for v in found), found


def test_the_check_allows_the_right_direction() -> None:
    assert violations("crawler.cli.search_cmd", "from storage.search.ranked import x\n"
                      "from crawler.pipelines.archive import y") == []
    assert violations("storage.archive", "from crawler.analysis.fingerprint import x") == []
    assert violations("crawler.pipelines.archive", "from storage.archive import x") == []


def test_importing_the_pure_core_loads_neither_sqlalchemy_nor_scrapy() -> None:
    code = ("import sys\n"
            "import crawler.analysis.page_analysis, crawler.links.discovery, "
            "crawler.links.link_priority, crawler.links.source_scope, crawler.links.urls\n"
            "print(' '.join(m for m in ('sqlalchemy', 'scrapy', 'twisted', 'alembic') "
            "if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, cwd=REPO).stdout.split()
    assert loaded == []


def test_the_report_loads_neither_scrapy_nor_twisted() -> None:
    """`silkroad report` draws charts from the database: a crawler would only slow it."""
    code = ("import sys\n"
            "import crawler.reporting.charts, crawler.reporting.page, crawler.reporting.images\n"
            "import crawler.cli.report_cmd\n"
            "print(' '.join(m for m in ('scrapy', 'twisted') if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, cwd=REPO).stdout.split()
    assert loaded == []


ARCHITECTURE_DOC = REPO / "docs" / "architecture.md"
NAMED_FILE = re.compile(r"`((?:crawler|storage|migrations|seeds|tests|docs)/[\w/.-]*)`")


def test_every_file_the_architecture_doc_names_exists() -> None:
    named = set(NAMED_FILE.findall(ARCHITECTURE_DOC.read_text(encoding="utf-8")))
    assert len(named) > 20
    assert sorted(p for p in named if not (REPO / p).exists()) == []


@pytest.mark.parametrize("section", ["The life of a page", "The life of a scheduled run"])
def test_every_step_of_a_life_names_a_file(section: str) -> None:
    text = ARCHITECTURE_DOC.read_text(encoding="utf-8").split(f"## {section}\n", 1)[1]
    text = text.split("\n## ", 1)[0]
    steps = re.split(r"\n(?=\d+\. )", "\n" + text.strip())[1:]
    assert len(steps) >= 4
    assert [s.split(".")[0] for s in steps if not NAMED_FILE.search(s)] == []
