"""A MovieLens-style catalog from two CSV files: who a brand-new movie goes to, and why.

``interactions.csv`` (user,item) and ``items.csv`` (item,title,genres,year,tags; genres and tags
joined with ``|``), as in ``../shared/data/ml-latest-small``. Run from the repository root::

    python examples/movielens_catalog.py [FOLDER]
"""

import sys

import pandas as pd

from coldstart import ColdStartRecommender, FrameRecommender, ItemFeaturizer

folder = sys.argv[1] if len(sys.argv) > 1 else "../shared/data/ml-latest-small"
ratings = pd.read_csv(f"{folder}/interactions.csv", dtype=str)                      # who watched what
movies = pd.read_csv(f"{folder}/items.csv", dtype={"item": str}).set_index("item")  # raw attributes
rec = FrameRecommender(ColdStartRecommender(featurizer=ItemFeaturizer(), random_state=0),
                       user_col="user", item_col="item").fit(ratings, movies)

new = pd.DataFrame({"title": ["Toy Story 5"], "genres": ["Adventure|Animation|Children|Comedy"],
                    "year": [2026], "tags": ["pixar"]}, index=pd.Index(["toy-story-5"], name="item"))
[idx] = rec.add_items(new)                                   # from its attributes alone: no views yet
model, titles = rec.model_, pd.concat([movies, new])["title"]
fans = rec.user_ids_.to_external((model.user_factors_ @ model.item_factors_[idx]).argsort()[::-1][:5])
print("recommend it first to users", list(fans), "- the first one's list:")
print(rec.recommend(fans[:1], N=5).assign(title=lambda d: titles.reindex(d["item"]).to_numpy()))
print("nearest movies:", list(titles.reindex(rec.similar_items(["toy-story-5"], N=6)["item"][1:])))
print("why, its attributes:\n", model.explain_item(new, top=6).round(3).to_string(index=False))
user = int(rec.user_ids_.to_internal([fans[0]])[0])
print(f"why, for user {fans[0]}:\n", model.explain_score(user, new, top=6).round(3).to_string(index=False))
