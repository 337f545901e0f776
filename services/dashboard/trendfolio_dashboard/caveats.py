"""The backtest's caveats in plain Korean: each stored (English) caveat is matched against the
template it was made from (``trendfolio.backtest``), and its values go into the Korean text.
A caveat of no known kind is shown as it was stored, marked as untranslated."""

from __future__ import annotations

import re
import string
from dataclasses import dataclass

from trendfolio_dashboard.i18n import TEXTS, t

# The kinds of caveat `trendfolio backtest` writes. The i18n key ``caveat.<kind>`` holds the
# Korean text and, as its English, the template the caveat was made from.
KINDS = ("not_point_in_time", "stale_snapshot", "sample", "short", "costs", "missing_prices")
TEMPLATES: dict[str, str] = {kind: TEXTS[f"caveat.{kind}"][1] for kind in KINDS}


def _pattern(template: str) -> re.Pattern[str]:
    """The template as a regular expression: its literal text, each ``{field}`` a group."""
    parts = []
    for literal, field, _spec, _conv in string.Formatter().parse(template):
        parts.append(re.escape(literal))
        if field is not None:
            parts.append(f"(?P<{field}>.+?)")
    return re.compile("".join(parts), re.DOTALL)


_PATTERNS = {kind: _pattern(template) for kind, template in TEMPLATES.items()}


@dataclass(frozen=True)
class Caveat:
    kind: str | None  # None: not one of the known kinds
    text: str  # as stored (English)
    values: dict[str, str]

    def words(self, lang: str) -> str:
        """The caveat in ``lang``: Korean from the template's values, English as stored."""
        if lang == "en":
            return self.text
        if self.kind is None:
            return t("caveat.untranslated", lang, text=self.text)
        return t(f"caveat.{self.kind}", lang, **self.values)


def parse(text: str) -> Caveat:
    for kind, pattern in _PATTERNS.items():
        match = pattern.fullmatch(text.strip())
        if match is not None:
            return Caveat(kind, text, match.groupdict())
    return Caveat(None, text, {})
