"""HTML forms from ODM metadata: the form body for the web app and a standalone preview.

Public API (see each module for details):

* :class:`FormRenderer` (``render.py``): ``FormRenderer(study).form_html(form_oid, state,
  lang=...)`` and ``.preview_html(...)``; :func:`render_form` / :func:`render_preview` for
  one-off use; :data:`STATIC_DIR`, :data:`SCRIPTS`, :data:`STYLESHEET` for the web app.
* :class:`FormState` (``view.py``): values, units, check results of the form being shown.
* Field names (``naming.py``): :func:`field_name`, :func:`parse_field_name`,
  :func:`classify_field`.
* Date entry (``dates.py``): :func:`normalise_date_entry`, :func:`normalise_entry`; number
  entry with a decimal comma or point (``numbers.py``): :func:`normalise_number_entry`.
"""

from renderers.html.build import FormBuilder, UnknownFormError
from renderers.html.dates import DateEntryProblem, normalise_date_entry, normalise_entry
from renderers.html.naming import (
    FieldName,
    FieldNameError,
    FieldRef,
    classify_field,
    field_name,
    parse_field_name,
    remove_field_name,
)
from renderers.html.numbers import NumberEntryProblem, normalise_number_entry
from renderers.html.render import (
    SCRIPTS,
    STATIC_DIR,
    STYLESHEET,
    FormRenderer,
    render_form,
    render_preview,
)
from renderers.html.view import CheckResultLike, FormState, FormView

__all__ = [
    "SCRIPTS",
    "STATIC_DIR",
    "STYLESHEET",
    "CheckResultLike",
    "DateEntryProblem",
    "FieldName",
    "FieldNameError",
    "FieldRef",
    "FormBuilder",
    "FormRenderer",
    "FormState",
    "FormView",
    "NumberEntryProblem",
    "UnknownFormError",
    "classify_field",
    "field_name",
    "normalise_date_entry",
    "normalise_entry",
    "normalise_number_entry",
    "parse_field_name",
    "remove_field_name",
    "render_form",
    "render_preview",
]
