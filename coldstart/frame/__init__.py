"""The edge for external ids and DataFrames: ``IdMap`` and ``FrameRecommender`` (pandas is
imported on first use of the DataFrame layer, so ``import coldstart`` stays light)."""

from coldstart.frame.ids import IdMap

__all__ = ["IdMap", "FrameRecommender", "FrameSplit", "split_frame", "temporal_split_frame"]


def __getattr__(name):
    if name in ("FrameRecommender", "FrameSplit", "split_frame", "temporal_split_frame"):
        from coldstart.frame import recommender

        return getattr(recommender, name)
    raise AttributeError(f"module 'coldstart.frame' has no attribute {name!r}")
