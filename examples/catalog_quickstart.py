"""From a raw catalog DataFrame to recommendations for a brand-new item, with explanations.

A small film catalog with the column types real catalogs have -- a title (text), genres as
``"A|B"`` strings, a release year with gaps, a list of tags and a price with gaps -- and
interactions between users and films under external string ids. ``ItemFeaturizer`` turns the
raw columns into features (no manual encoding), ``FrameRecommender`` keeps the ids, and a
film nobody has seen yet is added from its attributes alone, recommended, and explained.

Run from the repository root::

    python examples/catalog_quickstart.py
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from coldstart import ColdStartRecommender, FrameRecommender, ItemFeaturizer

pd.set_option("display.width", 120)
pd.set_option("display.max_colwidth", 40)

# --------------------------------------------------------------------------- a raw catalog
# Six themes; each film belongs to one, which shapes its title words, genres, tags, era and
# price. Users have one or two favourite themes. (Stands in for your own catalog and logs.)
THEMES = {
    "space":   dict(words="star galaxy planet alien orbit nebula void signal", genres=["Sci-Fi", "Action"],
                    tags=["space", "aliens", "spaceship", "future", "robots"], era=(1995, 2024), price=14),
    "romance": dict(words="love heart summer wedding letters kiss paris promise", genres=["Romance", "Comedy"],
                    tags=["love story", "feel-good", "wedding", "friendship", "paris"], era=(1985, 2020), price=9),
    "horror":  dict(words="night blood ghost curse house shadow whisper grave", genres=["Horror", "Thriller"],
                    tags=["haunted", "gore", "ghosts", "jump scares", "cult"], era=(1975, 2022), price=7),
    "fantasy": dict(words="dragon king sword crown realm quest magic throne", genres=["Fantasy", "Adventure"],
                    tags=["dragons", "magic", "epic", "medieval", "quest"], era=(1990, 2024), price=16),
    "crime":   dict(words="heist city money detective killer deal street case", genres=["Crime", "Thriller"],
                    tags=["heist", "detective", "mafia", "noir", "twist ending"], era=(1970, 2021), price=10),
    "family":  dict(words="little dog home christmas adventure friends school puppy", genres=["Family", "Animation"],
                    tags=["kids", "animals", "christmas", "funny", "talking animals"], era=(1990, 2024), price=8),
}
COMMON = "the of return last day final rise secret".split()
OTHER_TAGS = ["based on a book", "sequel", "oscar", "indie", "remake", "soundtrack"]


def make_catalog(n_films: int, rng: np.random.Generator) -> tuple[pd.DataFrame, np.ndarray]:
    names = list(THEMES)
    theme = rng.integers(len(names), size=n_films)
    rows = []
    for t in theme:
        th = THEMES[names[t]]
        words = rng.choice(th["words"].split(), 2, replace=False).tolist() + rng.choice(COMMON, 1).tolist()
        rng.shuffle(words)
        genres = [th["genres"][0]] + ([th["genres"][1]] if rng.random() < 0.6 else [])
        if rng.random() < 0.15:
            genres.append(str(rng.choice(["Drama", "Mystery", "Musical"])))
        year = float(rng.integers(*th["era"])) if rng.random() > 0.12 else np.nan  # gaps
        tags = rng.choice(th["tags"], rng.integers(1, 4), replace=False).tolist()
        if rng.random() < 0.4:
            tags.append(str(rng.choice(OTHER_TAGS)))
        price = round(th["price"] * rng.lognormal(0, 0.25), 2) if rng.random() > 0.1 else np.nan
        rows.append({"title": " ".join(words).title(), "genres": "|".join(genres), "year": year,
                     "tags": tags, "price": price})
    ids = [f"film-{i:04d}" for i in range(n_films)]
    return pd.DataFrame(rows, index=pd.Index(ids, name="item_id")), np.array(names)[theme]


def make_interactions(catalog: pd.DataFrame, theme: np.ndarray, n_users: int,
                      rng: np.random.Generator) -> tuple[pd.DataFrame, dict]:
    names = list(THEMES)
    rows, favourites = [], {}
    for u in range(n_users):
        user = f"user-{u:04d}"
        fav = rng.choice(names, rng.integers(1, 3), replace=False)
        favourites[user] = list(fav)
        liked = np.flatnonzero(np.isin(theme, fav))
        n = min(len(liked), int(rng.integers(8, 25)))
        picks = np.concatenate([rng.choice(liked, n, replace=False),
                                rng.choice(len(catalog), 2, replace=False)])  # some noise
        rows += [(user, catalog.index[i]) for i in np.unique(picks)]
    return pd.DataFrame(rows, columns=["user_id", "item_id"]), favourites


def main() -> None:
    rng = np.random.default_rng(7)
    catalog, theme = make_catalog(800, rng)
    interactions, favourites = make_interactions(catalog, theme, 1000, rng)
    print(f"catalog: {len(catalog)} films, raw columns {list(catalog.columns)}")
    print(catalog.head(4).to_string(), "\n")
    print(f"interactions: {len(interactions)} rows between {interactions.user_id.nunique()} users "
          f"and {interactions.item_id.nunique()} films\n")

    # ----------------------------------------------------------------- fit, one call
    model = ColdStartRecommender(factors=32, iterations=15, featurizer=ItemFeaturizer(), random_state=0)
    rec = FrameRecommender(model).fit(interactions, catalog)
    fz = rec.model_.featurizer_
    print("what the featurizer made of the raw columns:")
    print(fz.describe()[["kind", "n_features", "coverage", "reason"]].to_string(), "\n")

    # ----------------------------------------------------------------- a brand-new film
    new = pd.DataFrame({
        "title": ["Signal From The Void"],
        "genres": ["Sci-Fi|Mystery"],
        "year": [np.nan],                                   # not known yet
        "tags": [["space", "aliens", "first contact"]],     # "first contact": never seen before
        "price": [12.99],
    }, index=pd.Index(["film-new-1"], name="item_id"))
    [idx] = rec.add_items(new)
    print(f"added 'film-new-1' ({new.title.iloc[0]!r}) with no interactions: internal index {idx}, "
          f"zero-shot={bool(rec.model_.is_zero_shot_[idx])}\n")

    # who should see it: the users whose vectors score it highest
    m = rec.model_
    scores = m.user_factors_ @ m.item_factors_[idx]
    top_users = np.argsort(-scores)[:8]
    top = pd.DataFrame({"user_id": rec.user_ids_.to_external(top_users), "score": scores[top_users].round(3)})
    top["favourite themes"] = [", ".join(favourites[u]) for u in top["user_id"]]
    print("top users for the new film:")
    print(top.to_string(index=False), "\n")
    share = np.mean(["space" in favourites[u] for u in top["user_id"]])
    print(f"{share:.0%} of them are space fans (base rate "
          f"{np.mean(['space' in f for f in favourites.values()]):.0%})\n")

    user = top["user_id"].iloc[0]
    recs = rec.recommend([user], N=5)
    recs["title"] = [new.title.iloc[0] if i == "film-new-1" else catalog.title.get(i) for i in recs.item_id]
    print(f"top-5 for {user}:")
    print(recs[["rank", "item_id", "title", "score"]].to_string(index=False))
    full = rec.recommend([user], N=m.n_items_)
    rank = int(full.loc[full.item_id == "film-new-1", "rank"].iloc[0])
    print(f"the new film ranks {rank} of {len(full)} unseen films for {user} (its zero-shot vector "
          "is a ridge prediction from attributes, shrunk towards the average film)\n")

    # ----------------------------------------------------------------- explanations
    print("attributes that drove the new film's zero-shot vector:")
    print(m.explain_item(new, top=6).round(3).to_string(index=False), "\n")
    uid = int(rec.user_ids_.to_internal([user])[0])
    print(f"attributes behind {user}'s score for it:")
    print(m.explain_score(uid, new, top=6).round(3).to_string(index=False), "\n")
    near = m.nearest_established(idx, N=5)
    near["item_id"] = rec.item_ids_.to_external(near["item"])
    near = near.join(catalog[["title", "genres"]], on="item_id")
    print("nearest established films:")
    print(near[["item_id", "title", "genres", "similarity"]].round(3).to_string(index=False), "\n")

    # ----------------------------------------------------------------- save / load
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "films.npz"
        rec.save(path)                                   # one file, no pickle, featurizer inside
        back = FrameRecommender.load(path)
        same = back.recommend([user], N=5).equals(rec.recommend([user], N=5))
        print(f"saved to {path.name} ({path.stat().st_size / 1e3:.0f} kB) and loaded back: "
              f"same recommendations = {same}")


if __name__ == "__main__":
    main()
