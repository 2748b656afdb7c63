"""From item attribute tables to feature matrices (``ItemFeaturizer``) and back to words
(explanations)."""

from coldstart.features.explain import explain_item, explain_score, nearest_established
from coldstart.features.featurizer import ColumnIgnoredWarning, ItemFeaturizer
from coldstart.features.numeric import UnreadableValueWarning

__all__ = ["ItemFeaturizer", "ColumnIgnoredWarning", "UnreadableValueWarning", "explain_item", "explain_score",
           "nearest_established"]
