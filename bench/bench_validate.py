"""Loading plus full validation (XSD and rules) of the CDISC CDASH library, against odmlib.

Target (issue 2): under 0.1 s, and at least 5x faster than odmlib doing the same job (its
load, ``validate(collect_errors=True)`` and ``ODMSchemaValidator`` together).
"""

from __future__ import annotations

import warnings

from bench.common import Row, best_of, corpus_dir

FILE = "cdisc_odm13/cdisc-cdash-odm-1_3_1.xml"


def _ours(data: bytes) -> None:
    from odm_engine.validate import check

    check(data, path=FILE)


def _odmlib(path: str) -> None:
    from odmlib import loader as LD
    from odmlib import odm_loader as OL
    from odmlib.odm_parser import ODMSchemaValidator

    loader = LD.ODMLoader(OL.XMLODMLoader(model_package="odm_1_3_2"))
    loader.open_odm_document(path)
    odm = loader.load_odm()
    odm.validate(collect_errors=True)
    ODMSchemaValidator(standard="odm", version="1.3.2").validate_file(path)


def run() -> list[Row]:
    corpus = corpus_dir()
    if corpus is None:
        print("skipped: set EDC_CORPUS to the shared corpus")
        return []
    path = str(corpus / FILE)
    with open(path, "rb") as fh:
        data = fh.read()
    _ours(data)  # compile the schema once, as a long-running process would
    ours = best_of(lambda: _ours(data), 7)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _odmlib(path)
        theirs = best_of(lambda: _odmlib(path), 3)
    return [
        Row(
            "load + validate CDASH library (292 items)",
            ours,
            theirs,
            "s",
            "<0.1 s and >=5x odmlib",
            met=ours < 0.1 and theirs / ours >= 5,
        )
    ]
