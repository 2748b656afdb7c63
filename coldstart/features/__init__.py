"""From item attribute tables to feature matrices (``ItemFeaturizer``) and back to words
(explanations)."""

from coldstart.features.explain import explain_item, explain_score, nearest_established
from coldstart.features.featurizer import ColumnIgnoredWarning, ItemFeaturizer

__all__ = ["ItemFeaturizer", "ColumnIgnoredWarning", "explain_item", "explain_score", "nearest_established"]
