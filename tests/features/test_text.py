"""Text blocks (coldstart.features.text)."""

from __future__ import annotations

import json

from coldstart.features.text import tfidf_params_from_json


def test_tfidf_params_survive_json():
    params = {"ngram_range": (1, 2), "min_df": 2}
    back = tfidf_params_from_json(json.loads(json.dumps(params)))
    assert back == params and isinstance(back["ngram_range"], tuple)
    assert tfidf_params_from_json({"min_df": 1}) == {"min_df": 1}


def test_titles_in_a_script_without_spaces_are_text_in_characters(tmp_path):
    """Unique Chinese / Japanese titles: text split into character unigrams and bigrams (they
    were dropped as id-like, and declared text each title was one token), kept by save/load;
    titles sharing characters share features. Latin titles keep their words."""
    import numpy as np
    import pandas as pd

    from coldstart.features.featurizer import ItemFeaturizer

    rng = np.random.default_rng(0)
    chars = list("动作冒险动画儿童喜剧犯罪纪录剧情奇幻黑色恐怖音乐悬疑爱情科幻惊悚战争西部的一是了我不人在他有")
    titles = ["".join(rng.choice(chars, 6)) for _ in range(300)] + ["となりのトトロ", "千と千尋の神隠し"]
    latin = [f"the {w} story {i}" for i, w in enumerate(rng.choice(["space", "war", "love"], len(titles)))]
    feat = ItemFeaturizer().fit(pd.DataFrame({"title": titles, "en": latin}))
    assert feat.kinds_ == {"title": "text", "en": "text"}
    names = feat.get_feature_names_out()
    bigram = "title__" + titles[0][:2]
    assert "title__动" in names and bigram in names and "title__ト" in names and "en__space" in names
    Z = feat.transform(pd.DataFrame({"title": [titles[0][:2] + "喜剧"], "en": ["the war story"]}))
    assert Z[0, list(names).index(bigram)] > 0
    meta, arrays = feat.get_state()
    np.savez(tmp_path / "f.npz", **arrays)
    with np.load(tmp_path / "f.npz", allow_pickle=False) as npz:
        back = ItemFeaturizer.from_state(json.loads(json.dumps(meta)), {k: npz[k] for k in npz.files})
    assert (back.transform(pd.DataFrame({"title": titles[:5], "en": latin[:5]}))
            != feat.transform(pd.DataFrame({"title": titles[:5], "en": latin[:5]}))).nnz == 0
