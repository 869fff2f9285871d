"""Moved to :mod:`odm_engine.entry_validation` (pure engine logic, no SQL: issue 15).

Re-exported here only until every importer names the engine module; new code imports
``odm_engine.entry_validation``.
"""

from odm_engine.entry_validation import (
    CheckResultLike,
    EnteredValue,
    FormValidation,
    FormValidator,
    IsNull,
    MetadataValidator,
    ValueChecker,
    ValueProblem,
    apply_changes,
    second_instance_problem,
)

__all__ = [
    "CheckResultLike",
    "EnteredValue",
    "FormValidation",
    "FormValidator",
    "IsNull",
    "MetadataValidator",
    "ValueChecker",
    "ValueProblem",
    "apply_changes",
    "second_instance_problem",
]
