"""Server-side SVG charts (renderers.charts): well-formed, no script, no event handler, hostile
labels kept as text."""

from __future__ import annotations

import pytest
from lxml import etree

from renderers.charts import KINDS, Chart, _scrubbed, chart_svg

HOSTILE = '<script>alert(1)</script>" onload="alert(2)'


def _elements(svg: str) -> list[etree._Element]:
    root = etree.fromstring(svg.encode())
    return [n for n in root.iter() if isinstance(n.tag, str)]


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_is_svg_without_script_or_handler(kind: str) -> None:
    chart = Chart(kind, HOSTILE, (HOSTILE, "b"), ((HOSTILE, (1.0, 2.0)), ("m", (3.0, None))))
    svg = chart_svg(chart)
    nodes = _elements(svg)
    assert etree.QName(nodes[0]).localname == "svg"
    assert not [n for n in nodes if etree.QName(n).localname == "script"]
    assert not [a for n in nodes for a in n.attrib if etree.QName(a).localname.startswith("on")]
    assert "alert(1)" in "".join(n.text or "" for n in nodes)  # shown as text, escaped


def test_the_scrubber_removes_scripts_and_handlers() -> None:
    root = etree.fromstring(
        b'<svg xmlns="http://www.w3.org/2000/svg" onload="x()"><script>x()</script>'
        b'<g onclick="y()" class="k"><text>t</text></g></svg>'
    )
    out = etree.tostring(_scrubbed(root)).decode()
    assert "script" not in out and "onload" not in out and "onclick" not in out
    assert 'class="k"' in out and "<text>t</text>" in out


def test_an_unknown_kind_is_refused_and_an_empty_chart_drawn() -> None:
    with pytest.raises(ValueError, match="unknown chart kind"):
        chart_svg(Chart("pie", "t", (), ()))
    assert _elements(chart_svg(Chart("bar", "empty", (), ())))
