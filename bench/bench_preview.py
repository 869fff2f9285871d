"""``edc preview``: the bortezomib study shown again after a save, against a bare lxml parse.

Issue 16 target: the re-render of the bortezomib study (``metadata/``) after a save under
0.5 s. Measured through the preview app itself (Flask's test client, no network): from the
write of a changed file to ``/_state`` answering its new SHA-256, which is when the page
polling it loads again. By then the snapshot holds everything a page shows: the load,
every finding (XSD, rules, expressions, the vendor profile's tolerations), the compiled
check plan and all forms rendered in every language of the study (12 forms x en, de),
with the findings placed. Each save changes one question text, so each is a new SHA-256
(nothing is taken from the snapshot cache). The baseline, in the same run: ``lxml.etree
.fromstring`` of the same bytes, nothing else.

Row: ``preview.rerender_after_save`` (median of 7 saves after one warm-up).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from bench.common import Row, median_of

STUDY = Path(__file__).resolve().parents[1] / "metadata" / "bortezomib-retreatment.xml"
TARGET = 0.5
SAVES = 7


def _saves(data: bytes) -> list[float]:
    from webapp.preview import create_app

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / STUDY.name
        path.write_bytes(data)
        client = create_app(path).test_client()
        client.get("/_state")  # the first build: imports, the XSD compiled once per process
        seconds = []
        for n in range(SAVES):
            changed = data.replace(b"</StudyName>", f" (save {n})</StudyName>".encode(), 1)
            assert changed != data
            start = time.perf_counter()
            path.write_bytes(changed)
            state = client.get("/_state").json
            seconds.append(time.perf_counter() - start)
            assert state is not None and state["loads"], state
            form = client.get("/form/F.DM?lang=de")  # already rendered: served from the snapshot
            assert form.status_code == 200 and f"(save {n})" in client.get("/").text
    return seconds


def run() -> list[Row]:
    from lxml import etree

    data = STUDY.read_bytes()
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    baseline = median_of(lambda: etree.fromstring(data, parser), 7)
    ours = statistics.median(_saves(data))
    return [
        Row(
            "preview.rerender_after_save (bortezomib, all forms)",
            ours,
            baseline,
            "s",
            f"<{TARGET} s",
            met=ours < TARGET,
            note="write -> /_state new SHA: load+findings+plan+12 forms x 2 languages",
        )
    ]
