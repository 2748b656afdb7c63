"""The core: the model, its content-constrained and self-tuned fits, the ridge map, solvers,
weighting, top-k, validation and the model file format. Integer indices and CSR only."""

from coldstart.core.mapping import RidgeMap
from coldstart.core.model import ColdStartRecommender
from coldstart.core.persistence import ModelFileError
from coldstart.core.weighting import AttributeWeighting

__all__ = ["ColdStartRecommender", "RidgeMap", "AttributeWeighting", "ModelFileError"]
