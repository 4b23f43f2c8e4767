"""What a figure measures: the dimension a question asks for ("berapa luas ...": an area) and the
dimensions of the units an answer gives ("2.693 meter": a length). A figure in a unit of another
dimension does not answer ("berapa hektar lahan kentang?" is not answered "2.693 meter di atas
permukaan laut"); a bare figure may, and so may a percentage, which has no dimension (a price
that rose "dua persen per tahun"). A rate is of its numerator's dimension: "Rp 5.700 per liter"
is money.

Of FacQA's 2,806 questions, 131 ask "berapa" for one of these dimensions, and every one of their
gold answers either gives a unit of it or none."""

from __future__ import annotations

import re

from qa.lexical import STOP_WORDS, WORD

# Units, by the dimension they measure.
_UNITS = {
    "area": r"hektar\w*|hektare|ha|km2|km²|m2|m²|(?:kilo)?meter\s+persegi|acres?",
    "length": r"(?:kilo|senti|mili)?meters?|km|cm|mm|m|mil|miles?|kaki|feet|inci|mdpl|dpl",
    "time": r"tahun|bulan|minggu|pekan|hari|jam|menit|detik|dekade|windu|abad|semester|triwulan|kuartal"
            r"|years?|months?|weeks?|days?|hours?|minutes?|seconds?|decades?|centuries|century",
    "money": r"rp\.?|rupiah|dolar|dollars?|us\$|\$|euro|yen|ringgit|yuan|baht|won|peso|rupee|pounds?|poundsterling"
             r"|franc|dinar|riyal|rial|lira|rubel|ruble|dirham",
    "mass": r"(?:kilo)?grams?|kg|ton|tons|kuintal|pounds?",
    "volume": r"liter|barel|barrels?|(?:meter|m)\s+kubik|m3|m³",
}
# Words a question asks with, after "berapa" ("berapa luas ...", "berapa tahun ..."), by the
# dimension of their answer; those of `_NAMED_BEFORE` also before it ("harga pertamax turun jadi
# berapa?"), but not time words, which there set the scene ("tahun 2005, berapa dana ...").
_MEASURE_WORDS = {
    "area": r"luas|hektar",
    "length": r"panjang|jarak|jauh|tinggi|ketinggian|kedalaman|lebar|meter|kilometer",
    "time": r"usia|umur|lama|durasi|tahun|bulan|hari|jam|menit",
    "money": r"harga|biaya|dana|anggaran|gaji|tarif|modal|rupiah|dolar",
    "mass": r"berat|bobot|massa|ton|kilogram",
    "volume": r"liter|barel",
}
_NAMED_BEFORE = {
    "area": r"luas",
    "length": r"panjang|jarak|tinggi|ketinggian|kedalaman|lebar",
    "time": r"usia|umur",
    "money": r"harga|biaya|dana|anggaran|gaji|tarif|modal",
    "mass": r"berat|bobot",
}
_UNIT = {dimension: re.compile(r"(?<![\w$])(?:" + units + r")(?!\w)", re.IGNORECASE)
         for dimension, units in _UNITS.items()}
_PER = re.compile(r"\s*(?:\bper\s+|/\s*)[^\W\d]+", re.IGNORECASE)  # a rate's denominator: "per liter", "/kg"
# What a figure counts: the word right after its digits and their magnitude ("65 IKM", "137
# peserta"). A count of things is not a measure: "berapa anggaran …?" is not answered "65 IKM".
# Of FacQA's questions asking in a dimension, no gold answer counts things without a unit. A word
# the question says is its subject, not a thing counted ("153 Kebun Raya" for "Berapakah umur
# Kebun Raya Cibodas …?", as the answer's span keeps the question's words after a figure).
_MAGNITUDE = r"(?:ribu|juta|miliar|triliun|thousand|million|billion)\b"
_COUNTED = re.compile(r"\d(?:[\d.,]*\d)?\s*(?:" + _MAGNITUDE + r"\s*)?(?!" + _MAGNITUDE + r")(?P<word>[^\W\d_][\w-]*)",
                      re.IGNORECASE)
PERCENTAGE = re.compile(r"%|\b(?:persen|percent)\b", re.IGNORECASE)  # a share, which has no dimension
# A figure alone: a number or a range, its currency and magnitude, then at most two words (its
# unit, what it counts: "79.000 dollar AS", "70 persen saham"), a rate's denominator and a
# bracket ("26,5 baht (Rp 6.500)"). A name may start with a number and go on ("10 km jalan cepat",
# "50 Alasan Mengapa …": a race and a book that FacQA's "apa" questions ask for).
_FIGURE_ALONE = re.compile(r"[(\[]?(?:Rp\.?|US\$|\$)?\s?\d[\d.,]*(?:\s*-\s*\d[\d.,]*)?(?:\s*" + _MAGNITUDE + r")?"
                           r"(?:\s*%)?(?:\s*[^\W\d_][\w-]*){0,2}(?:" + _PER.pattern + r")?(?:\s*\([^)]*\))?\W*",
                           re.IGNORECASE)


def what_is_the(measures: str) -> str:
    """The pattern of an English question naming the measure it asks for, one of `measures`
    (alternatives): "what was the industry confidence index …", "what is its budget …"."""
    return (r"what\s+(?:is|was|are|were|will\s+be)\s+(?:the\s+|its\s+|their\s+)?(?:(?!of\b)[\w-]+\s+){0,3}?"
            r"(?:" + measures + r")s?")


# English names the dimension with its question words ("how tall", "how old") or with what it asks
# the amount of ("how much was the program worth?", "what was the budget ...?"); "how long" may ask
# a time or a length, so it names neither.
_ASKED_IN_ENGLISH = {
    "length": r"\bhow\s+(?:tall|high|far|deep|wide)\b",
    "time": r"\bhow\s+old\b",
    "money": r"\bhow\s+much\b.*\b(?:cost|costs|worth|spend|spent|pay|paid|invest|invested|money|funds?|funding)\b"
             r"|\b" + what_is_the("price|cost|budget|salary|wage|revenue|worth|fund|funding") + r"\b",
    "mass": r"\bhow\s+heavy\b",
}
_ASKED = {
    dimension: re.compile("|".join(filter(None, (
        # "berapa tonkah", "seberapa tinggi", not "berapa Tonique" (a name)
        r"\b(?:se)?berapa(?:kah)?\s+(?:" + words + r")(?:kah|nya)?\b",
        r"\b(?:" + _NAMED_BEFORE[dimension] + r")\w*\s+(?:\S+\s+){0,4}?berapa" if dimension in _NAMED_BEFORE else "",
        _ASKED_IN_ENGLISH.get(dimension, "")))), re.IGNORECASE)
    for dimension, words in _MEASURE_WORDS.items()
}


def asked_dimension(question: str) -> str | None:
    """The dimension the question's figure is asked in, by the measure word nearest its
    "berapa"; None when it asks for a count or names no measure."""
    found = [(match.start(), dimension) for dimension, pattern in _ASKED.items() if (match := pattern.search(question))]
    return min(found)[1] if found else None


_HOW_LONG = re.compile(r"\bhow\s+long\b", re.IGNORECASE)


def asks_a_time(question: str) -> bool:
    """Whether the figure asked may be a time, which a year can answer: a duration or an age
    ("sudah berapa lama …?": "sejak Perjanjian Roma 1957"; "how long" may ask one too)."""
    return asked_dimension(question) == "time" or bool(_HOW_LONG.search(question))


def figure_alone(words: str) -> bool:
    """Whether `words` are a figure and what it measures, nothing more: "74 juta jiwa", "Rp 5.700
    per liter", "15 persen"; not "10 km jalan cepat", a name that starts with one."""
    return bool(_FIGURE_ALONE.fullmatch(words.strip()))


def unit_dimensions(words: str) -> set[str]:
    """The dimensions of the units `words` give, not counting a rate's denominator."""
    numerators = _PER.sub(" ", words)
    return {dimension for dimension, pattern in _UNIT.items() if pattern.search(numerators)}


def measures_what_is_asked(words: str, question: str) -> bool:
    """Whether the figure in `words` can be of the dimension `question` asks for: it gives a unit
    of that dimension, or it is a percentage, or a bare figure that counts nothing named."""
    asked = asked_dimension(question)
    if asked is None or PERCENTAGE.search(words):
        return True
    given = unit_dimensions(words)
    if given:
        return asked in given
    counted = _COUNTED.search(words)
    if counted is None:
        return True
    word = counted["word"].lower()
    return word in STOP_WORDS or word in {w.lower() for w in WORD.findall(question)}
