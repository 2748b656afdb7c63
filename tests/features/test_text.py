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


def test_unspaced_titles_with_text_params_and_pre_split_text():
    """text_params that do not choose the tokens keep the character n-grams (min_df=2 failed on
    whole-title tokens); text already split into words by spaces keeps its words; short labels
    in such a script that repeat stay a category."""
    import numpy as np
    import pandas as pd

    from coldstart.features.featurizer import ItemFeaturizer

    rng = np.random.default_rng(1)
    chars = list("动作冒险动画儿童喜剧犯罪纪录剧情奇幻黑色恐怖音乐悬疑爱情科幻惊悚战争西部")
    titles = ["".join(rng.choice(chars, 6)) for _ in range(200)]
    feat = ItemFeaturizer(text_params={"min_df": 2}).fit(pd.DataFrame({"title": titles}))
    assert feat.kinds_ == {"title": "text"} and feat.blocks_[0].params["analyzer"] == "char"
    words = ["千", "と", "千尋", "の", "神隠し", "映画", "東京"]
    split = [" ".join(rng.choice(words, 4)) for _ in range(200)]
    f2 = ItemFeaturizer().fit(pd.DataFrame({"t": split}))
    assert f2.kinds_["t"] == "text" and "t__神隠し" in f2.get_feature_names_out()
    authors = [str(a) for a in rng.choice(["村上春樹", "东野圭吾", "金庸", "鲁迅", "川端康成"] * 20 + [f"作者{i}" for i in range(60)], 200)]
    assert ItemFeaturizer().fit(pd.DataFrame({"author": authors})).kinds_["author"] == "categorical"
