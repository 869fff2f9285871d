"""What investigators type into number fields, read the way they meant it.

Every site of a study may write a decimal comma (``3,4``) or a decimal point (``3.4``); ODM
stores a point. The form's number fields are text inputs (``inputmode="decimal"``), not
``type="number"``: chromium's number input drops the comma of ``3,4`` and sends ``34``,
whatever the browser's locale and the page's language (tried with de-DE and en-US, ``lang``
de and en; a number input's value is only ever point-decimal). So the server reads what was
typed, by one rule that never changes a value's magnitude silently:

* no comma: the text goes on unchanged (the DataType check reads ``3.4``, ``-7``, ``1.2E3``
  and refuses the rest);
* one comma and no point, for float and double: a decimal comma, ``3,4`` is 3.4 and
  ``0,125`` is 0.125, **unless** the comma could be a thousands separator: one to three
  digits (not a lone 0) before it and exactly three after it (``1,234``, ``-12,500``) is
  refused as ambiguous: 1.234 to a German reader, 1234 to an American one;
* a point and a comma together (``1.234,5``, ``1,234.5``) or several commas (``1,234,567``)
  are refused: thousands separators are never guessed;
* integer: a comma is refused (``12,0``, ``1,5``, ``1,234``): a whole number is digits only.

``static/numbers.js`` mirrors :func:`normalise_number_entry` (``normaliseNumberEntry``) so
the browser flags a refused entry when the user leaves the field; the two are tested against
the same cases. The messages, in English and German, are the form catalogue's ``number.*``
texts (``renderers.i18n.form``): the browser and the server say the same.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from odm_engine.datatypes import REGISTRY
from renderers.i18n import texts

_THOUSANDS = re.compile(r"[+-]?(?!0,)[0-9]{1,3},[0-9]{3}(?:[eE][+-]?[0-9]+)?")
"""One comma that may group thousands: ``1,234``, ``-12,500`` (not ``0,125``)."""


@dataclass(frozen=True, slots=True)
class NumberEntryProblem:
    """Why an entry cannot be read as a number without guessing.

    ``code`` is ``ambiguous`` (one comma that may be a thousands separator), ``separators``
    (a point and a comma, or several commas) or ``integer`` (a comma in a whole number);
    ``text`` is the entry. The message is the form catalogue's ``number.<code>`` text.
    """

    code: str
    text: str

    def in_language(self, lang: str | None) -> str:
        """The message in ``lang`` (English for a language the catalogue lacks)."""
        template = texts("form", lang)[f"number.{self.code}"]
        whole = self.text.replace(",", "")
        return template.format(text=self.text, whole=whole, decimal=self.text.replace(",", "."))

    @property
    def message(self) -> str:
        """The English message."""
        return self.in_language("en")


def normalise_number_entry(text: str, data_type: str = "float") -> str | NumberEntryProblem:
    """The entry with a decimal comma read as a point, or why it is refused (see the module).

    ``text`` is stripped. An entry without a comma is returned unchanged: the DataType check
    (``odm_engine.datatypes``) reads it and explains what it refuses.
    """
    entry = text.strip()
    if "," not in entry:
        return entry
    spec = REGISTRY.get(data_type)
    if spec is not None and spec.kind == "integer":
        return NumberEntryProblem("integer", entry)
    if entry.count(",") > 1 or "." in entry:
        return NumberEntryProblem("separators", entry)
    if _THOUSANDS.fullmatch(entry):
        return NumberEntryProblem("ambiguous", entry)
    return entry.replace(",", ".")
