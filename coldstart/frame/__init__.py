"""The edge for external ids and DataFrames: ``IdMap`` and ``FrameRecommender``."""

from coldstart.frame.ids import IdMap
from coldstart.frame.recommender import FrameRecommender, FrameSplit, split_frame, temporal_split_frame

__all__ = ["IdMap", "FrameRecommender", "FrameSplit", "split_frame", "temporal_split_frame"]
