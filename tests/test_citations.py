import pytest

from qa.citations import citation, cited_sentence, indonesian_date


@pytest.mark.parametrize("iso, said", [("2024-11-15", "15 November 2024"), ("2023-01-07", "7 Januari 2023"),
                                       ("2022-08-10", "10 Agustus 2022"), (None, None)])
def test_dates_in_indonesian(iso, said):
    assert indonesian_date(iso) == said


def test_citations_name_source_and_date_even_when_missing():
    assert citation("kumparan", "2024-11-15") == "kumparan (15 November 2024)"
    assert citation(None, None) == "sumber tanpa nama (tanpa tanggal)"
    assert cited_sentence("KETIK", "2023-05-30", " IKM menyerap 12,39 juta tenaga kerja.\n") == (
        "Menurut KETIK (30 Mei 2023), IKM menyerap 12,39 juta tenaga kerja.")
