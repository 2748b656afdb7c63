"""Text blocks (coldstart.features.text)."""

from __future__ import annotations

import json

from coldstart.features.text import tfidf_params_from_json


def test_tfidf_params_survive_json():
    params = {"ngram_range": (1, 2), "min_df": 2}
    back = tfidf_params_from_json(json.loads(json.dumps(params)))
    assert back == params and isinstance(back["ngram_range"], tuple)
    assert tfidf_params_from_json({"min_df": 1}) == {"min_df": 1}
