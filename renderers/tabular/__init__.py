"""Tabular exports (CSV, Dataset-JSON 1.1) and the dataset plan they share with Define-XML."""

from renderers.tabular.plan import Column, Dataset, dataset_plan
from renderers.tabular.writers import write_csv, write_dataset_json

__all__ = ["Column", "Dataset", "dataset_plan", "write_csv", "write_dataset_json"]
