"""coldstart: zero-shot embeddings for brand-new items on top of implicit's collaborative models.

The package reads like the pipeline: ``ids``/``datasets`` → ``featurizer``/``weighting`` →
``factorization`` → ``mapping`` → ``model`` (+ ``frame`` for external ids) → ``metrics``/
``evaluation``/``baselines`` → ``search`` → ``synthetic``/``simulation`` → ``cli``.
"""

from .ids import IdMap
from .mapping import RidgeMap
from .model import ColdStartRecommender
from .persistence import ModelFileError
from .weighting import AttributeWeighting

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
        from .frame import FrameRecommender

        return FrameRecommender
    if name == "ItemFeaturizer":
        from .featurizer import ItemFeaturizer

        return ItemFeaturizer
    raise AttributeError(f"module 'coldstart' has no attribute {name!r}")
