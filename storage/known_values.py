"""Filter values no article can have: a typo or another archive, not an empty answer.

One check for every command that filters articles (search, export, reprocess, the
coverage report): a one-line error naming the valid values. Countries and themes
are those of the topic profile and any the archive holds.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from crawler.analysis.topic_vocabulary import profile_tags
from crawler.errors import UsageError
from storage.models import Source
from storage.records import ArticleFilter
from storage.stats import held_values


def require_known_filters(session: Session, filters: ArticleFilter) -> None:
    """A language, country, theme or source that no article can have is a mistake (a
    typo, another archive), not an empty result: a one-line error listing the valid ones.
    Countries and themes are those of the topic profile and any the archive holds."""
    require_known_source(session, filters.source)
    if filters.language is not None:
        _require_language(session, filters.language)
    tags = profile_tags()
    for option, field, value, known in (
            ("--country", "countries", (filters.country or "").upper(), tags.countries),
            ("--theme", "themes", (filters.theme or "").lower(), tags.themes)):
        if not value or value in known:
            continue
        held = held_values(session, field)
        if value not in held:
            valid = ", ".join((*known, *sorted(set(held) - set(known))))
            raise UsageError(f"{option} {value!r} is not one of the {field} articles are "
                             f"tagged with ({valid})")


def _require_language(session: Session, language: str) -> None:
    wanted = language.lower()
    held = held_values(session, "language")
    if any(code.lower() == wanted or code.lower().startswith(wanted + "-") for code in held):
        return
    codes = sorted(set(held) | {code.split("-")[0] for code in held})
    listed = f"languages: {', '.join(codes)}" if codes else "the archive has none yet"
    raise UsageError(f"--lang {language!r}: no article in that language ({listed})")


def require_known_source(session: Session, name: str | None) -> None:
    """An unknown ``--source`` is a mistake (a typo, another seeds file), not an empty result."""
    if name is None:
        return
    names = list(session.scalars(select(Source.name).order_by(Source.name)))
    if name not in names:
        known = ", ".join(repr(n) for n in names[:10]) + (" ..." if len(names) > 10 else "")
        raise UsageError(f"no source named {name!r} in the archive"
                         + (f" (sources: {known})" if names else " (it has none yet)"))
