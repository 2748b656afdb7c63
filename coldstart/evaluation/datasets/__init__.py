"""Dataset readers: every one returns a :class:`Dataset` in index space.

- :mod:`~coldstart.evaluation.datasets.citeulike`: the CiteULike format (``users.dat``,
  ``mult.dat``, ...) and the bundled ``data/citeulike-t`` (:func:`load_dataset`).
- :mod:`~coldstart.evaluation.datasets.folder`: the plain folder format (``interactions.csv``,
  ``items.csv``, ``meta.json``, ``split/``) and DataFrames (:func:`load_folder`,
  :func:`from_frames`).
- :mod:`~coldstart.evaluation.datasets.attributes`: attribute kinds and the protocol's
  :func:`reference_features` of an item table.
- :mod:`~coldstart.evaluation.datasets.tables`: table reading and external ids indexed by
  their string form (shared with :mod:`coldstart.frame`), split folders with external ids.
"""

from coldstart.evaluation.datasets.attributes import FOLDER_KINDS, infer_kinds, reference_features
from coldstart.evaluation.datasets.citeulike import (
                                                     bundled_data_dir,
                                                     is_citeulike_format,
                                                     load_citeulike,
                                                     load_dataset,
                                                     read_mult,
)
from coldstart.evaluation.datasets.dataset import Dataset
from coldstart.evaluation.datasets.folder import from_frames, is_folder_format, load_folder
from coldstart.evaluation.datasets.tables import read_split_ids, read_table, write_split_ids

__all__ = ["Dataset", "load_citeulike", "load_dataset", "bundled_data_dir", "read_mult", "is_citeulike_format",
           "load_folder", "from_frames", "is_folder_format", "FOLDER_KINDS", "infer_kinds",
           "reference_features", "read_table", "read_split_ids", "write_split_ids"]
