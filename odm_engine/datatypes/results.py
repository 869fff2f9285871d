"""What reading a value gives: the typed value and its canonical text, or a problem."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class DataTypeProblem:
    """A value that is not of its DataType; the message says what is wrong and how to fix it."""

    message: str


@dataclass(frozen=True, slots=True)
class Parsed:
    """A valid value: typed Python value and canonical ODM text."""

    value: object
    canonical: str
