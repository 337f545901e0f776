"""Every UI string exists in both languages with the same placeholders."""

from __future__ import annotations

import string

from trendfolio_dashboard.i18n import TEXTS, t


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_text_has_korean_and_english_with_the_same_placeholders() -> None:
    for key, (ko, en) in TEXTS.items():
        assert ko.strip() and en.strip(), key
        assert _fields(ko) == _fields(en), key


def test_korean_is_the_default_and_english_is_a_switch() -> None:
    assert t("tab.20", "ko") == "📅 20일 (1개월)" == t("tab.20", "xx")
    assert t("tab.20", "en") == "📅 20 days (1 month)"
    assert t("col.return_n", "ko", n=5) == "5일 수익률"
