"""Reference models for the cold-start protocol, all behind one contract (:mod:`.base`).

- :mod:`~coldstart.evaluation.baselines.simple`: :class:`RandomRecommender`,
  :class:`PopularityRecommender`, :class:`ContentProfileRecommender` (tf-idf cosine).
- :mod:`~coldstart.evaluation.baselines.hybrid`: :class:`ALSRidgeRecommender` (implicit ALS
  plus a ridge map for items without interactions), :class:`LightFMRecommender`.
"""

from coldstart.evaluation.baselines.hybrid import ALSRidgeRecommender, LightFMRecommender
from coldstart.evaluation.baselines.simple import ContentProfileRecommender, PopularityRecommender, RandomRecommender

__all__ = [
    "RandomRecommender",
    "PopularityRecommender",
    "ContentProfileRecommender",
    "ALSRidgeRecommender",
    "LightFMRecommender",
]
