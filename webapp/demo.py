"""Demo data for ``make demo``: users for every role and a few synthetic subjects.

Re-runnable: users and subjects that exist are left alone. Passwords are random, made here
and returned once for the caller to print; they are stored only as werkzeug hashes.
Subjects are entered through ``storage.writes.save_form``, so they carry audit rows and
queries like data typed in the browser.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from odm_engine.clinical import FormKey
from odm_engine.entry_validation import MetadataValidator
from storage.engine import Connection
from storage.passwords import one_time_password
from storage.studies import current_metadata
from storage.subjects import create_subject, list_subjects
from storage.users import add_user, set_role, user_exists
from storage.writes import save_form
from webapp.studyview import SiteRef, sites_of

ELIGIBLE = {
    **{("IG.IE_IN", "", f"IT.IE_IN0{n}"): "Y" for n in range(1, 8)},
    **{("IG.IE_EX", "", f"IT.IE_EX0{n}"): "N" for n in range(1, 4)},
}
CONSENT = {("IG.IC", "", "IT.IC_REQ"): "N"}
DEMOGRAPHICS = {
    ("IG.DM", "", "IT.DM_BRTHDAT"): "1950-03",
    ("IG.DM", "", "IT.DM_SEX"): "F",
    ("IG.VS", "", "IT.VS_HEIGHT"): "165",
    ("IG.VS", "", "IT.VS_WEIGHT"): "250",  # implausible on purpose: opens a soft query
}


@dataclass
class DemoReport:
    created: list[tuple[str, str, str]] = field(default_factory=list)
    """(username, password, what the user may do): shown once, never stored."""
    existing: list[str] = field(default_factory=list)
    subjects: list[str] = field(default_factory=list)


def _user(
    conn: Connection,
    report: DemoReport,
    *,
    name: str,
    study: str,
    role: str,
    sites: list[str | None],
) -> None:
    if user_exists(conn, name):
        report.existing.append(name)
        return
    password = one_time_password(name)  # random and within the password policy
    add_user(conn, name, password, full_name=name.replace("-", " ").title(), by="demo")
    for site in sites:
        set_role(conn, name, study, role, site_oid=site, replace=False, by="demo")
    where = ", ".join(s.rsplit(".", 1)[-1] if s else "all sites" for s in sites)
    report.created.append((name, password, f"{role} at {where}"))


def seed_demo(conn: Connection, study: str) -> DemoReport:
    """Users (an investigator per two sites, a monitor, a data manager, a designer, an
    admin) and two subjects at each of the first sites, eligible, one with a query."""
    report = DemoReport()
    sites = sites_of(conn, study)
    pairs = [sites[i : i + 2] for i in range(0, len(sites), 2)]
    investigators: dict[str, str] = {}
    for pair in pairs:
        name = "investigator-" + "-".join(s.code.lower() for s in pair)
        _user(
            conn, report, name=name, study=study, role="investigator", sites=[s.oid for s in pair]
        )
        investigators.update({s.oid: name for s in pair})
    _user(conn, report, name="monitor", study=study, role="monitor", sites=[None])
    _user(conn, report, name="data-manager", study=study, role="data_manager", sites=[None])
    _user(conn, report, name="designer", study=study, role="study_designer", sites=[None])
    _user(conn, report, name="admin", study=study, role="admin", sites=[None])
    validator = MetadataValidator.for_odm(current_metadata(conn, study).odm, study)
    for site in sites[:3]:
        _subjects(
            conn, report, study=study, site=site, user=investigators[site.oid], validator=validator
        )
    return report


def _subjects(
    conn: Connection,
    report: DemoReport,
    *,
    study: str,
    site: SiteRef,
    user: str,
    validator: MetadataValidator,
) -> None:
    existing = set(list_subjects(conn, study, site.oid))
    for number in (1, 2):
        key = f"{site.code}-{number:03d}"
        if key in existing:
            continue
        create_subject(
            conn,
            study=study,
            subject_key=key,
            site_oid=site.oid,
            user=user,
            role="investigator",
            source="demo",
        )
        forms = [("SE.ELIG", "F.IC", CONSENT), ("SE.ELIG", "F.IE", ELIGIBLE)]
        if number == 1:
            forms.append(("SE.DCV", "F.DM", DEMOGRAPHICS))
        for event, form, values in forms:
            save_form(
                conn,
                study=study,
                subject_key=key,
                form_key=FormKey(event, "", form, ""),
                values=values,
                user=user,
                role="investigator",
                expected_version=0,
                complete=form != "F.DM",
                validator=validator,
            )
        report.subjects.append(key)
