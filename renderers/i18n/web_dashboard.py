"""The web app's texts of the dashboard (``dash.*``, issue 18), kept apart from
:mod:`renderers.i18n.web` for its size. The catalogue (:data:`renderers.i18n.SECTIONS`)
merges them into the ``web`` section.
"""

from __future__ import annotations

EN: dict[str, str] = {
    "nav.dashboard": "Dashboard",
    "action.read_dashboard": "see the dashboard",
    "dash.title": "Dashboard",
    "dash.intro": "Figures of {scope}, counted when this page was opened. Each chart is "
    "followed by the table it is drawn from; each table can be downloaded as CSV.",
    "dash.scope_all": "all your sites",
    "dash.scope_site": "site {site}",
    "dash.site": "Site",
    "dash.all_sites": "All my sites",
    "dash.show": "Show",
    "dash.bad_site": "Choose one of your sites, or all of them.",
    "dash.bad_table": "There is no such dashboard table.",
    "dash.chart_alt": "Chart: {caption}. The numbers are in the table below.",
    "dash.csv": "Download as CSV",
    "dash.empty": "Nothing to count yet.",
    "dash.enrolment": "Enrolment over time",
    "dash.month": "Month",
    "dash.new_subjects": "New subjects",
    "dash.cumulative": "Enrolled in total",
    "dash.no_target": "The study declares no enrolment target (ODM 1.3.2 has no element for "
    "one), so no target line is drawn.",
    "dash.completion": "Casebook completion: forms by status",
    "dash.form": "Form",
    "dash.total": "Total",
    "dash.query_age": "Open queries by age",
    "dash.age": "Age",
    "dash.age_lt7": "Under 7 days",
    "dash.age_7to30": "7 to 30 days",
    "dash.age_gt30": "Over 30 days",
    "dash.queries": "Queries",
    "dash.query_age_note": "Queries not closed (open or answered), by the days since they were "
    "opened.",
    "dash.sdv": "SDV progress",
    "dash.verified": "Verified",
    "dash.saved": "Saved",
    "dash.percent_verified": "% verified",
    "dash.all_forms": "All forms",
    "dash.sdv_note": "Forms whose status is verified, of the forms holding saved data. A form "
    "signed or locked after its verification counts as saved, not verified.",
    "dash.checks": "The checks that fire most",
    "dash.check": "Check",
    "dash.unresolved": "Not closed",
    "dash.checks_note": "Queries opened by soft checks, by check and form; the 15 with the "
    "most queries.",
}

DE: dict[str, str] = {
    "nav.dashboard": "Übersicht",
    "action.read_dashboard": "die Übersicht sehen",
    "dash.title": "Übersicht",
    "dash.intro": "Zahlen von {scope}, gezählt beim Öffnen dieser Seite. Unter jedem Diagramm "
    "steht die Tabelle, aus der es gezeichnet ist; jede Tabelle lässt sich als CSV "
    "herunterladen.",
    "dash.scope_all": "allen Ihren Zentren",
    "dash.scope_site": "Zentrum {site}",
    "dash.site": "Zentrum",
    "dash.all_sites": "Alle meine Zentren",
    "dash.show": "Anzeigen",
    "dash.bad_site": "Wählen Sie eines Ihrer Zentren oder alle.",
    "dash.bad_table": "Diese Tabelle gibt es in der Übersicht nicht.",
    "dash.chart_alt": "Diagramm: {caption}. Die Zahlen stehen in der Tabelle darunter.",
    "dash.csv": "Als CSV herunterladen",
    "dash.empty": "Noch nichts zu zählen.",
    "dash.enrolment": "Einschlüsse im Zeitverlauf",
    "dash.month": "Monat",
    "dash.new_subjects": "Neue Patienten",
    "dash.cumulative": "Eingeschlossen insgesamt",
    "dash.no_target": "Die Studie gibt kein Einschlussziel an (ODM 1.3.2 hat dafür kein "
    "Element), daher wird keine Ziellinie gezeichnet.",
    "dash.completion": "Vollständigkeit der Prüfbögen: Formulare nach Status",
    "dash.form": "Formular",
    "dash.total": "Gesamt",
    "dash.query_age": "Offene Rückfragen nach Alter",
    "dash.age": "Alter",
    "dash.age_lt7": "Unter 7 Tagen",
    "dash.age_7to30": "7 bis 30 Tage",
    "dash.age_gt30": "Über 30 Tage",
    "dash.queries": "Rückfragen",
    "dash.query_age_note": "Nicht geschlossene Rückfragen (offen oder beantwortet), nach Tagen "
    "seit dem Öffnen.",
    "dash.sdv": "SDV-Fortschritt",
    "dash.verified": "Verifiziert",
    "dash.saved": "Gespeichert",
    "dash.percent_verified": "% verifiziert",
    "dash.all_forms": "Alle Formulare",
    "dash.sdv_note": "Formulare mit dem Status verifiziert, von den Formularen mit "
    "gespeicherten Daten. Ein nach der Verifizierung unterschriebenes oder gesperrtes Formular "
    "zählt als gespeichert, nicht als verifiziert.",
    "dash.checks": "Die häufigsten Prüfungen",
    "dash.check": "Prüfung",
    "dash.unresolved": "Nicht geschlossen",
    "dash.checks_note": "Von weichen Prüfungen geöffnete Rückfragen, nach Prüfung und "
    "Formular; die 15 mit den meisten Rückfragen.",
}
