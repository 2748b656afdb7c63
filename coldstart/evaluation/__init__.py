"""The offline protocol: datasets, item cold-start splits, metrics, the cold / warm / hybrid
evaluation, reference baselines and the validation-only search."""

from coldstart.evaluation.datasets import Dataset, load_dataset, load_folder, reference_features
from coldstart.evaluation.protocol import evaluate
from coldstart.evaluation.search import ColdStartSearchCV
from coldstart.evaluation.splits import ColdStartSplit, protocol_split, temporal_split

__all__ = ["Dataset", "load_dataset", "load_folder", "reference_features", "evaluate",
           "ColdStartSearchCV", "ColdStartSplit", "protocol_split", "temporal_split"]
