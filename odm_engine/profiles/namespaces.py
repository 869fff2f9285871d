"""Vendor extension namespaces and the names the loader reports them by (ODM-EXT findings).

A profile's namespace is defined in its module; namespaces of vendors without a profile
(kept as extensions, nothing mapped) are defined here.
"""

from __future__ import annotations

from odm_engine.profiles import openclinica, rave, redcap

VIEDOC_NS = "http://www.viedoc.net/ns/v4"

VENDOR_NAMES: dict[str, str] = {
    redcap.NAMESPACE: "REDCap",
    openclinica.NAMESPACE: "OpenClinica 3.1",
    openclinica.RULES_NAMESPACES[0]: "OpenClinica rules",
    openclinica.RULES_NAMESPACES[1]: "OpenClinica rules",
    rave.NAMESPACE: "Medidata Rave",
    VIEDOC_NS: "Viedoc",
}
