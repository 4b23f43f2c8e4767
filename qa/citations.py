"""How a chatbot cites a passage: "Menurut kumparan (15 November 2024), …"."""

from __future__ import annotations

import datetime as dt

MONTHS = ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September",
          "Oktober", "November", "Desember")


def indonesian_date(iso: str | None) -> str | None:
    """'2024-11-15' -> '15 November 2024'; None (undated) stays None."""
    if not iso:
        return None
    day = dt.date.fromisoformat(iso)
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def citation(source: str | None, date: str | None) -> str:
    """Who said it and when, as an Indonesian sentence names it: 'kumparan (15 November 2024)'."""
    return f"{source or 'sumber tanpa nama'} ({indonesian_date(date) or 'tanpa tanggal'})"


def cited_sentence(source: str | None, date: str | None, sentence: str) -> str:
    """'Menurut kumparan (15 November 2024), <the sentence that answers>'."""
    return f"Menurut {citation(source, date)}, {sentence.strip()}"
