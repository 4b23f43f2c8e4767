from hypothesis import given, strategies as st

from conftest import CORPUS
from qa.chunking import MAX_WORDS, MIN_WORDS, sentence_spans, split_article, split_articles
from qa.reading import read_paths
from qa.types import Article


def _articles():
    return read_paths([CORPUS]).articles


def test_passages_are_sized_and_point_back_into_the_article():
    for article in _articles():
        passages = split_article(article)
        assert passages
        for position, passage in enumerate(passages):
            assert MIN_WORDS <= len(passage.text.split()) <= MAX_WORDS
            assert article.text[passage.start : passage.end] == passage.text
            assert passage.id == f"{article.id}:{position}"
            assert (passage.doc_id, passage.date, passage.source) == (article.id, article.date, article.source)


def test_passage_ids_are_stable():
    first = [p.id for a in _articles() for p in split_article(a)]
    assert first == [p.id for a in _articles() for p in split_article(a)]


def test_long_paragraph_is_split_on_sentences():
    sentence = "Kementerian Perindustrian mencatat pertumbuhan industri kecil yang sangat pesat tahun ini. "
    article = Article(id="long", text=sentence * 40)
    passages = split_article(article)
    assert len(passages) > 1
    assert all(len(p.text.split()) <= MAX_WORDS and p.text.endswith(".") for p in passages)


def test_sentences_do_not_break_after_abbreviations_or_decimals():
    text = "Nilainya Rp. 7,9 miliar menurut Dr. Reni. Angka 4.52 naik. Selesai."
    assert [text[s:e] for s, e in sentence_spans(text, 0, len(text))] == [
        "Nilainya Rp. 7,9 miliar menurut Dr. Reni.", "Angka 4.52 naik.", "Selesai."]


def test_a_sentence_ends_before_a_quote_set_off_by_spaces():
    text = ('Ia memberi orasi di Bandung, Jawa Barat. " Beliau ke Bandung atas izin saya, " kata Kalla. '
            "Tenaga kerja di sektor industri. “ Sehingga IKM berkontribusi. ” kata dia.")
    assert [text[s:e] for s, e in sentence_spans(text, 0, len(text))] == [
        "Ia memberi orasi di Bandung, Jawa Barat.", '" Beliau ke Bandung atas izin saya, " kata Kalla.',
        "Tenaga kerja di sektor industri.", "“ Sehingga IKM berkontribusi. ” kata dia."]


def test_every_passage_knows_its_period():
    passages = split_articles(_articles())
    assert all(p.period is not None for p in passages)  # every default article has a date
    kumparan = next(p for p in passages if p.source == "kumparan")
    assert kumparan.period.label == "2024"


@given(st.text(min_size=1, max_size=3000))
def test_any_text_splits_into_passages_that_point_back_into_it(text):
    article = Article(id="x", text=text, date="2024-11-15")
    passages = split_article(article)
    assert [p.position for p in passages] == list(range(len(passages)))
    for passage in passages:
        assert text[passage.start : passage.end] == passage.text and passage.text.strip()


def test_no_passage_is_longer_than_the_character_cap():
    """A megabyte without a space was once one passage, returned whole with every result list."""
    from qa.chunking import MAX_PASSAGE_CHARS

    article = Article(id="blob", text="Awal berita. " + "A" * 1_000_000 + " akhir berita.\nParagraf biasa.")
    passages = split_article(article)
    assert max(len(p.text) for p in passages) <= MAX_PASSAGE_CHARS
    assert all(article.text[p.start : p.end] == p.text for p in passages)
    assert "".join(p.text for p in passages).count("A") == 1_000_000 + 1  # nothing lost ("Awal" has one)
