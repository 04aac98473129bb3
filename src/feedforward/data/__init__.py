"""Data: datasets, preprocessing, splitting, augmentation and batching.

- :mod:`~feedforward.data.playground`: the TensorFlow Playground's 2-D datasets;
- :mod:`~feedforward.data.mnist`: MNIST from IDX files, with a checked download;
- :mod:`~feedforward.data.tabular`: CSV files and scikit-learn's bundled datasets;
- :mod:`~feedforward.data.preprocessing`: scalers, image mean subtraction, label encoding;
- :mod:`~feedforward.data.encoding`: mixed-type tables (categories, missing cells) to numbers;
- :mod:`~feedforward.data.split`: stratified train / validation / test splits;
- :mod:`~feedforward.data.augment`: image augmentation applied per batch during training;
- :mod:`~feedforward.data.batching`: the mini-batch iterator;
- :mod:`~feedforward.data.sources`: a dataset named by the ``dataset`` option (built-in, CSV,
  MNIST folder) or arrays in memory, prepared for a task and split, for the experiment recipe.

Wherever an array is accepted, so is a pandas DataFrame or Series (through ``to_numpy``);
pandas itself is not required.
"""

from . import (
    augment,
    batching,
    encoding,
    mnist,
    playground,
    preprocessing,
    sources,
    split,
    tabular,
)
from .augment import Augmenter, flip, gaussian_noise, mirror, rotate, translate
from .batching import BatchIterator, batches
from .encoding import TableEncoder, UnseenCategoryWarning
from .mnist import download_mnist, load_mnist, read_idx
from .playground import blobs, circle, gaussian, multi_gaussian, plane, spiral, xor
from .preprocessing import ImageMeanSubtraction, LabelEncoder, MinMaxScaler, StandardScaler, one_hot
from .split import Split, train_val_test_split
from .tabular import Dataset, load_csv, load_dataset, read_csv, read_parquet

__all__ = [
    "Augmenter", "BatchIterator", "Dataset", "ImageMeanSubtraction", "LabelEncoder",
    "MinMaxScaler", "Split", "StandardScaler", "TableEncoder", "UnseenCategoryWarning",
    "augment", "batches", "batching", "blobs", "circle", "download_mnist", "encoding", "flip",
    "gaussian", "gaussian_noise", "load_csv", "load_dataset", "load_mnist", "mirror", "mnist",
    "multi_gaussian", "one_hot", "plane", "playground", "preprocessing", "read_csv",
    "read_idx", "read_parquet", "rotate", "sources", "spiral", "split", "tabular",
    "train_val_test_split", "translate", "xor",
]
