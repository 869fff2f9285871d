"""The dashboard's tables, their charts and their CSV (issue 18).

``dashboard_tables`` reads the figures (:mod:`storage.readers.dashboard`, one ``GROUP BY``
each) and shapes them into :class:`Table` s: a caption, column headers, rows of text and the
:class:`renderers.charts.Chart` drawn from the same numbers. The page prints each table under
its chart, the CSV download writes the same rows (:func:`table_csv`, every cell through
:func:`renderers.tabular.writers.csv_cell`), and the SVG route draws the chart
(:func:`renderers.charts.chart_svg`): the three can never disagree.

Wording comes from the caller (``words``: the web catalogue), form names too (``form_name``),
so this module holds no interface text.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import accumulate

from renderers.charts import Chart, chart_svg
from renderers.tabular.writers import csv_cell
from storage.engine import Connection
from storage.readers.dashboard import AGE_BUCKETS, PARTS, Dashboard, dashboard
from storage.vocabulary import FormStatus

__all__ = ["TABLES", "Table", "dashboard_tables", "table_csv", "table_svg"]

TABLES = PARTS
"""The dashboard's tables, in page order; also the names in the chart and CSV URLs."""

Words = Callable[[str], str]


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    caption: str
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    chart: Chart
    note: str = ""
    """A sentence printed with the table (e.g. that no enrolment target is declared)."""


def _enrolment(d: Dashboard, t: Words) -> Table:
    months = tuple(m.month for m in d.enrolment)
    new = tuple(m.subjects for m in d.enrolment)
    total = tuple(accumulate(new))
    chart = Chart(
        "line",
        t("dash.enrolment"),
        months,
        ((t("dash.new_subjects"), new), (t("dash.cumulative"), total)),
    )
    rows = tuple((m, str(n), str(c)) for m, n, c in zip(months, new, total, strict=True))
    headers = (t("dash.month"), t("dash.new_subjects"), t("dash.cumulative"))
    return Table("enrolment", t("dash.enrolment"), headers, rows, chart, t("dash.no_target"))


def _completion(d: Dashboard, t: Words, form_name: Words) -> Table:
    forms = sorted({c.form_oid for c in d.completion})
    count = {(c.form_oid, c.status): c.forms for c in d.completion}
    statuses = [s.value for s in FormStatus]
    series = tuple(
        (t("status." + s), tuple(float(count.get((f, s), 0)) for f in forms)) for s in statuses
    )
    names = tuple(form_name(f) for f in forms)
    rows = tuple(
        (
            name,
            *(str(count.get((f, s), 0)) for s in statuses),
            str(sum(count.get((f, s), 0) for s in statuses)),
        )
        for f, name in zip(forms, names, strict=True)
    )
    headers = (t("dash.form"), *(t("status." + s) for s in statuses), t("dash.total"))
    chart = Chart("stacked_hbar", t("dash.completion"), names, series)
    return Table("completion", t("dash.completion"), headers, rows, chart)


def _query_age(d: Dashboard, t: Words) -> Table:
    labels = tuple(t("dash.age_" + b) for b in AGE_BUCKETS)
    counts = tuple(n for _, n in d.query_age)
    chart = Chart("bar", t("dash.query_age"), labels, ((t("dash.queries"), counts),))
    rows = tuple((label, str(n)) for label, n in zip(labels, counts, strict=True))
    headers = (t("dash.age"), t("dash.queries"))
    return Table("query_age", t("dash.query_age"), headers, rows, chart, t("dash.query_age_note"))


def _percent(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 1) if whole else 0.0


def _sdv(d: Dashboard, t: Words, form_name: Words) -> Table:
    lines = [(form_name(s.form_oid), s.verified, s.saved) for s in d.sdv]
    verified, saved = sum(v for _, v, _ in lines), sum(n for _, _, n in lines)
    lines.append((t("dash.all_forms"), verified, saved))
    rows = tuple((name, str(v), str(n), f"{_percent(v, n):.1f}") for name, v, n in lines)
    chart = Chart(
        "hbar",
        t("dash.sdv"),
        tuple(name for name, _, _ in lines),
        ((t("dash.percent_verified"), tuple(_percent(v, n) for _, v, n in lines)),),
        max_value=100.0,
    )
    headers = (t("dash.form"), t("dash.verified"), t("dash.saved"), t("dash.percent_verified"))
    return Table("sdv", t("dash.sdv"), headers, rows, chart, t("dash.sdv_note"))


def _checks(d: Dashboard, t: Words, form_name: Words) -> Table:
    labels = tuple(f"{c.check_id} ({form_name(c.form_oid)})" for c in d.checks)
    rows = tuple(
        (c.check_id, form_name(c.form_oid), str(c.queries), str(c.unresolved)) for c in d.checks
    )
    chart = Chart(
        "hbar",
        t("dash.checks"),
        labels,
        ((t("dash.queries"), tuple(float(c.queries) for c in d.checks)),),
    )
    headers = (t("dash.check"), t("dash.form"), t("dash.queries"), t("dash.unresolved"))
    return Table("checks", t("dash.checks"), headers, rows, chart, t("dash.checks_note"))


def dashboard_tables(
    conn: Connection,
    study_oid: str,
    sites: Sequence[str] | None,
    *,
    words: Words,
    form_name: Words,
    only: str | None = None,
    now: datetime | None = None,
) -> tuple[Table, ...]:
    """The dashboard of ``study_oid`` at ``sites`` (None: every subject), in :data:`TABLES`
    order; ``only``: that one table (for its chart or CSV), its figures alone read."""
    names = TABLES if only is None else (only,)
    d = dashboard(conn, study_oid, sites, now, names)
    shapes: dict[str, Callable[[], Table]] = {
        "enrolment": lambda: _enrolment(d, words),
        "completion": lambda: _completion(d, words, form_name),
        "query_age": lambda: _query_age(d, words),
        "sdv": lambda: _sdv(d, words, form_name),
        "checks": lambda: _checks(d, words, form_name),
    }
    return tuple(shapes[name]() for name in names)


def table_csv(table: Table) -> str:
    """The table as CSV: the header row, then the rows, every cell injection-safe."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([csv_cell(h) for h in table.headers])
    writer.writerows([csv_cell(c) for c in row] for row in table.rows)
    return out.getvalue()


def table_svg(table: Table) -> str:
    """The table's chart as SVG (no script: :func:`renderers.charts.chart_svg`)."""
    return chart_svg(table.chart)
