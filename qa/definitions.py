"""Questions that ask what a thing is, and acronyms with what they stand for. "apa itu IKM?" asks
what "IKM" is short for, and news spells an acronym out where it first uses it, "Industri Kecil
Menengah (IKM)" or "IKM (Industri Kecil Menengah)": the words that spell it out answer it, found
by their letters, not by a list of acronyms. "apa itu restrukturisasi mesin?" asks for what the
reader was not trained to find (it learnt factoid spans), so its spans do not vouch for one."""

from __future__ import annotations

import functools
import re

# A question that asks what one word (an acronym, or a short name) is or stands for.
_TERM = r"(?P<term>[^\W\d_][\w-]*\w)"
_ASKS_WHAT = [
    re.compile(r"^(?:apa(?:kah)?\s+(?:itu|arti(?:nya)?|kepanjangan(?:nya)?(?:\s+dari)?|singkatan(?:\s+dari)?"
               r"|yang\s+dimaksud(?:\s+dengan)?)|kepanjangan(?:\s+dari)?|singkatan\s+dari|arti|pengertian)\s+"
               + _TERM + r"\s*\??$", re.IGNORECASE),
    re.compile(r"^" + _TERM + r"\s+(?:itu\s+apa|apa\s+itu|apaan|artinya\s+apa|kepanjangan(?:nya)?\s+apa"
               r"|singkatan\s+dari\s+apa|adalah\s+singkatan\s+dari\s+apa|kepanjangan\s+dari\s+apa)\s*\??$",
               re.IGNORECASE),
    re.compile(r"^what\s+(?:is|are|was|does)\s+(?:an?\s+|the\s+)?" + _TERM
               + r"(?:\s+(?:stand\s+for|mean|short\s+for))?\s*\??$", re.IGNORECASE),
    re.compile(r"^(?:define|meaning\s+of)\s+" + _TERM + r"\s*\??$", re.IGNORECASE),
]
# A question that asks what a thing is, whatever the thing: "apa itu ...", "... itu apa?", "what is
# meant by ...", and English "what is/are X" where X is a name, not "the ... of ..." (a factoid).
# The words that ask for one; such an answer is a sentence (qa.short_answer).
DEFINITION_CUE = r"apa(?:kah)?\s+(?:itu|yang\s+dimaksud)|pengertian|definisi|what\s+is\s+meant"
_ASKS_A_DEFINITION = re.compile(
    r"^(?:" + DEFINITION_CUE + r"|arti|define|meaning\s+of|what\s+are\s+meant)\b"
    r"|^what\s+(?:is|are|was)\s+(?!(?:the|a|an)\b)(?:[\w-]+\s*){1,4}\??$"
    r"|\b(?:itu\s+apa|apa\s+itu|apaan|artinya\s+apa)\s*\??$|^what\s+does\s+.+\s+(?:mean|stand\s+for)\s*\??$",
    re.IGNORECASE,
)
# Words an expansion may hold that its acronym leaves out ("Badan Rehabilitasi dan Rekonstruksi (BRR)").
_SKIPPED = frozenset("dan serta atau untuk di ke dari & and of the for in on".split())
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?")
_BETWEEN_WORDS = re.compile(r"[\s,&-]*")  # what may separate the words of one name
REACH = 200  # characters before an acronym's bracket in which its spelling-out is looked for


def asked_acronym(question: str) -> str | None:
    """The word `question` asks about when it asks what a word is or stands for ("apa itu IKM?",
    "IKM singkatan dari apa?", "what does IKMA stand for?"), if it has a capital letter."""
    for asks in _ASKS_WHAT:
        if (found := asks.match(question.strip())) and re.search(r"[A-Z]", found.group("term")):
            return found.group("term")
    return None


def asks_for_a_definition(question: str) -> bool:
    """Whether `question` asks what something is or means, other than what an acronym stands for
    (`asked_acronym`)."""
    return bool(_ASKS_A_DEFINITION.search(question.strip()))


def spelled_out(text: str, acronym: str) -> list[tuple[int, int]]:
    """Where `text` spells `acronym` out: the words right before "(IKM)" or inside the brackets
    after "IKM (...)" whose first letters, or first syllables ("Badan Pengawas Pasar Modal" for
    "Bapepam"), make the acronym, in order; "dan", "of" and the like may be left out. Words that
    do not make it ("Badan Antariksa Amerika Serikat (NASA)", a translation) give nothing."""
    letters = re.sub(r"[^\w]", "", acronym).lower()
    if len(letters) < 2:
        return []
    found = []
    for bracket in re.finditer(r"\(\s*" + re.escape(acronym) + r"\s*\)", text):
        if (span := _spelling_before(text, bracket.start(), letters)) is not None:
            found.append(span)
    for after in re.finditer(r"(?<!\w)" + re.escape(acronym) + r"\s*\(([^()]{3," + str(REACH) + r"})\)", text):
        start, end = after.span(1)
        words = list(_WORD.finditer(text, start, end))
        if words and _spells(letters, tuple(w.group().lower() for w in words)) and _joined(text, words):
            found.append((words[0].start(), words[-1].end()))
    return found


def names_acronym(text: str, span: tuple[int, int], acronym: str) -> bool:
    """Whether the words at `span` are bracketed with `acronym` as what it stands for, letters or
    not: "Badan Tenaga Atom Internasional (IAEA)", "IAEA (Badan Tenaga Atom Internasional)"."""
    start, end = span
    followed = re.match(r"\s*\(\s*" + re.escape(acronym) + r"\s*\)", text[end : end + len(acronym) + 8])
    inside = (re.search(r"(?<!\w)" + re.escape(acronym) + r"\s*\(\s*$", text[max(0, start - len(acronym) - 8) : start])
              and re.match(r"\s*\)", text[end : end + 4]))
    return bool(followed or inside)


def _spelling_before(text: str, at: int, letters: str) -> tuple[int, int] | None:
    """The fewest words ending right before `at` that spell `letters`."""
    words = list(_WORD.finditer(text, max(0, at - REACH), at))
    if not words or _BETWEEN_WORDS.fullmatch(text, words[-1].end(), at) is None:
        return None
    for count in range(2, min(len(words), 2 * len(letters) + 2) + 1):
        chosen = words[-count:]
        if not _joined(text, chosen[:2]):  # the gaps after it were checked with fewer words
            return None  # punctuation other than a comma or a hyphen: the name began after it
        if chosen[0].group().lower() in _SKIPPED:
            continue
        if _spells(letters, tuple(w.group().lower() for w in chosen)):
            return chosen[0].start(), chosen[-1].end()
    return None


def _joined(text: str, words: list[re.Match]) -> bool:
    return all(_BETWEEN_WORDS.fullmatch(text, a.end(), b.start()) for a, b in zip(words, words[1:]))


@functools.lru_cache(maxsize=4096)
def _spells(letters: str, words: tuple[str, ...]) -> bool:
    """Whether `letters` is the words' beginnings, one after another: each word gives its first
    letter or more (a skippable word may give none), and the first word gives at least one."""
    if not words:
        return not letters
    word, rest = words[0], words[1:]
    if word in _SKIPPED and _spells(letters, rest):
        return True
    return any(letters[:n] == word[:n] and _spells(letters[n:], rest) for n in range(1, min(len(word), len(letters)) + 1))
