import numpy as np
import pytest

from qa.batching import Batcher


def test_a_failed_batch_fails_its_callers_and_the_next_batch_works():
    def encode(texts):
        if "boom" in texts:
            raise RuntimeError("model failed")
        return np.array([[len(t)] for t in texts], dtype=np.float32)

    batcher = Batcher(encode, max_batch=4, name="test")
    with pytest.raises(RuntimeError, match="model failed"):
        batcher.submit("boom").result()
    assert batcher.submit("abc").result()[0] == 3
