import json

import numpy as np
import pytest

from conftest import FACQA
from qa.calibration import HELD_IN_ENGLISH, fit_logistic, in_english, threshold_for
from qa.facqa import facqa_rows
from qa.query import is_english
from qa.reader_training import split_held_in


def test_the_logistic_fit_recovers_a_known_curve():
    rng = np.random.default_rng(0)
    scores = rng.normal(0, 3, 5000)
    right = (rng.random(5000) < 1 / (1 + np.exp(-(0.8 * scores - 1.0)))).astype(float)
    slope, intercept = fit_logistic(scores[:, None], right)
    assert abs(slope - 0.8) < 0.1 and abs(intercept + 1.0) < 0.15



def test_with_the_other_weights_held_only_the_shift_is_fitted():
    """How the English feature's weight is fitted: the curve's other weights held, as an offset."""
    rng = np.random.default_rng(1)
    held = rng.normal(0, 2, 5000)
    right = (rng.random(5000) < 1 / (1 + np.exp(-(held + 0.7)))).astype(float)
    (shift,) = fit_logistic(np.empty((5000, 0)), right, offset=held)
    assert abs(shift - 0.7) < 0.1

def test_the_threshold_is_the_lowest_at_which_nine_in_ten_are_right():
    confidences = np.array([0.95, 0.9, 0.85, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1])
    right = np.array([1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0], dtype=float)
    assert threshold_for(confidences, right) == 0.2  # 9 of the 10 answers at or above it are right
    assert threshold_for(confidences, right, precision=0.95) == 0.3
    assert threshold_for(np.array([0.9, 0.8]), np.array([0.0, 0.0])) == 1.0


@pytest.mark.skipif(not FACQA.is_dir(), reason="../shared/data/facqa not present")
def test_every_held_in_question_is_also_asked_in_english():
    _, held_in = split_held_in(facqa_rows(FACQA, "train"))
    english = in_english(held_in)
    assert len(english) == len(held_in) == len(HELD_IN_ENGLISH.read_text().splitlines())
    assert [(r.passage, r.answer) for r in english] == [(r.passage, r.answer) for r in held_in]
    assert sum(is_english(r.question) for r in english) >= 0.99 * len(english)
    assert all(json.loads(line)["english"] != json.loads(line)["question"] for line in HELD_IN_ENGLISH.read_text().splitlines())
