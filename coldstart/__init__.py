"""coldstart: zero-shot embeddings for brand-new items on top of implicit's collaborative models.

Subpackages, in pipeline order: ``features`` (attribute tables → feature matrices) → ``core``
(weighting, the collaborative fit, the map, the model, its files) → ``frame`` (external ids and
DataFrames) → ``evaluation`` (datasets, splits, protocol, baselines, search) → ``simulation``;
``integrations`` (Spark, HNSW, plots) and ``cli`` sit at the edge.
"""

from coldstart.core.mapping import RidgeMap
from coldstart.core.model import ColdStartRecommender
from coldstart.core.persistence import ModelFileError
from coldstart.core.weighting import AttributeWeighting
from coldstart.frame.ids import IdMap

__version__ = "0.1.0"

__all__ = [
    "ColdStartRecommender",
    "FrameRecommender",
    "ItemFeaturizer",
    "IdMap",
    "RidgeMap",
    "AttributeWeighting",
    "ModelFileError",
    "__version__",
]


def __getattr__(name):  # lazy: keep `import coldstart` light
    if name == "FrameRecommender":
        from coldstart.frame import FrameRecommender

        return FrameRecommender
    if name == "ItemFeaturizer":
        from coldstart.features import ItemFeaturizer

        return ItemFeaturizer
    raise AttributeError(f"module 'coldstart' has no attribute {name!r}")
