"""Medidata Rave: ``mdsol:`` attributes, ODMVersion 1.3, transactional audit streams.

``mdsol:`` attributes are kept; ``ODMVersion="1.3"`` is read as 1.3.2; a transactional audit
stream of many ClinicalData blocks is read block by block, the same subject may come many
times and later blocks apply over earlier ones.
"""

from __future__ import annotations

from odm_engine.profiles import conditions
from odm_engine.profiles.base import FOREIGN_CONTEXT, Profile, Toleration, detect_vendor

NAMESPACE = "http://www.mdsol.com/ns/odm/metadata"

PROFILE = Profile(
    "Medidata Rave",
    'mdsol: attributes are kept; ODMVersion="1.3" is read as 1.3.2; repeated ClinicalData '
    "blocks apply in order",
    detect_vendor(source=lambda s: s.startswith(("medidata", "rave")), namespace=NAMESPACE),
    NAMESPACE,
    tolerations=(
        FOREIGN_CONTEXT,
        Toleration(
            conditions.DUPLICATE_MDV_OID,
            "Rave gives a FormDef and its ItemGroupDef the same OID; the engine keeps "
            "definitions of different kinds apart",
        ),
    ),
)
