"""Charts as SVG drawn on the server with pygal (the dashboard, issue 18), with no script.

pygal writes a ``<script>`` (its configuration, and its tooltip code unless ``js=[]``) into
every chart; the app's Content-Security-Policy allows no inline script, and a chart needs
none: it is a picture whose numbers are in the table printed under it. :func:`chart_svg`
therefore renders pygal's tree, removes every ``script`` element and every ``on*`` attribute,
and returns the SVG text (no XML declaration), to be served as ``image/svg+xml``.
"""

from __future__ import annotations

from dataclasses import dataclass

import pygal
from lxml import etree
from pygal.style import Style

__all__ = ["Chart", "chart_svg"]

KINDS = ("line", "bar", "hbar", "stacked_hbar")
"""The chart kinds :func:`chart_svg` draws."""

_STYLE = Style(
    background="white",
    plot_background="white",
    foreground="#1f2937",
    foreground_strong="#111827",
    foreground_subtle="#6b7280",
    font_family="system-ui, sans-serif",
    colors=("#1d4ed8", "#b45309", "#047857", "#7c3aed", "#be123c", "#0f766e", "#4b5563"),
)


@dataclass(frozen=True, slots=True)
class Chart:
    """What to draw: the kind of :data:`KINDS`, a title, the x labels and named series."""

    kind: str
    title: str
    labels: tuple[str, ...]
    series: tuple[tuple[str, tuple[float | None, ...]], ...]
    max_value: float | None = None
    """The top of the value axis (e.g. 100 for percentages); None: from the data."""


def _pygal(chart: Chart) -> pygal.graph.graph.Graph:
    options = {
        "js": [],  # no script of pygal's own (the config script is removed below)
        "style": _STYLE,
        "disable_xml_declaration": True,
        "width": 760,
        "height": 340 if chart.kind in ("line", "bar") else max(200, 60 + 34 * len(chart.labels)),
        "explicit_size": True,
        "show_legend": len(chart.series) > 1,
        "legend_at_bottom": True,
        "print_values": False,
        "x_label_rotation": 30 if chart.kind in ("line", "bar") and len(chart.labels) > 6 else 0,
        "truncate_label": 40,
        "no_data_text": "",
        "include_x_axis": True,
    }
    if chart.max_value is not None:
        options["range"] = (0, chart.max_value)
    else:
        options["y_labels"] = _count_ticks(chart)
    kind = {
        "line": pygal.Line,
        "bar": pygal.Bar,
        "hbar": pygal.HorizontalBar,
        "stacked_hbar": pygal.HorizontalStackedBar,
    }[chart.kind]
    graph = kind(**options)
    graph.title = chart.title
    graph.x_labels = list(chart.labels)
    for name, values in chart.series:
        graph.add(name, list(values))
    return graph


def _count_ticks(chart: Chart) -> list[int] | None:
    """Whole-number ticks for a chart of small counts (pygal would write 0.2, 0.4...);
    None (pygal's own ticks) for large ones."""
    values = [[v or 0.0 for v in vs] for _, vs in chart.series]
    if not values or not values[0]:
        return None
    if chart.kind == "stacked_hbar":
        top = max(sum(column) for column in zip(*values, strict=True))
    else:
        top = max(max(vs) for vs in values if vs)
    if top > 10 or any(v != int(v) for vs in values for v in vs):
        return None
    return list(range(int(top) + 1))


def _scrubbed(root: etree._Element) -> etree._Element:
    """``root`` without script elements and event-handler attributes (``onload``...)."""
    for node in list(root.iter()):
        if not isinstance(node.tag, str):
            continue
        if etree.QName(node).localname == "script":
            parent = node.getparent()
            if parent is not None:
                parent.remove(node)
            continue
        for name in [a for a in node.attrib if etree.QName(a).localname.lower().startswith("on")]:
            del node.attrib[name]
    return root


def chart_svg(chart: Chart) -> str:
    """The SVG of ``chart``: well-formed XML, no script, no event handler."""
    if chart.kind not in KINDS:
        raise ValueError(f"unknown chart kind {chart.kind!r}; one of {', '.join(KINDS)}")
    tree = _pygal(chart).render_tree()
    return etree.tostring(_scrubbed(tree), encoding="unicode")
