"""The web app's texts of the subject matrix (``matrix.*``), kept apart from
:mod:`renderers.i18n.web` for its size. The catalogue (:data:`renderers.i18n.SECTIONS`)
merges them into the ``web`` section.
"""

from __future__ import annotations

EN: dict[str, str] = {
    "matrix.title": "Subject matrix",
    "matrix.site_title": "Subject matrix: {site}",
    "matrix.link": "Subject matrix",
    "matrix.search": "Subject key contains",
    "matrix.site": "Site",
    "matrix.all_sites": "All my sites",
    "matrix.status": "A form with status",
    "matrix.any_status": "Any status",
    "matrix.apply": "Show",
    "matrix.legend": "Legend:",
    "matrix.total": "{n} subject(s), page {page} of {pages}.",
    "matrix.total_more": "More than {n} subjects, page {page}.",
    "matrix.sort": "Sort by:",
    "matrix.sort_key": "Subject",
    "matrix.sort_created": "Enrolled",
    "matrix.sort_queries": "Open queries",
    "matrix.none": "No subject matches.",
    "matrix.pages": "Pages",
    "matrix.previous": "Previous page",
    "matrix.next": "Next page",
    "matrix.bad_site": "Unknown site: choose one of the list.",
    "matrix.bad_status": "Unknown form status: choose one of the list.",
    "matrix.bad_sort": "Unknown sort order.",
}

DE: dict[str, str] = {
    "matrix.title": "Patientenübersicht",
    "matrix.site_title": "Patientenübersicht: {site}",
    "matrix.link": "Patientenübersicht",
    "matrix.search": "Patientennummer enthält",
    "matrix.site": "Zentrum",
    "matrix.all_sites": "Alle meine Zentren",
    "matrix.status": "Ein Formular mit Status",
    "matrix.any_status": "Jeder Status",
    "matrix.apply": "Anzeigen",
    "matrix.legend": "Legende:",
    "matrix.total": "{n} Patient(en), Seite {page} von {pages}.",
    "matrix.total_more": "Mehr als {n} Patienten, Seite {page}.",
    "matrix.sort": "Sortieren nach:",
    "matrix.sort_key": "Patient",
    "matrix.sort_created": "Aufgenommen",
    "matrix.sort_queries": "Offene Rückfragen",
    "matrix.none": "Kein Patient passt.",
    "matrix.pages": "Seiten",
    "matrix.previous": "Vorige Seite",
    "matrix.next": "Nächste Seite",
    "matrix.bad_site": "Unbekanntes Zentrum: bitte eines aus der Liste wählen.",
    "matrix.bad_status": "Unbekannter Formularstatus: bitte einen aus der Liste wählen.",
    "matrix.bad_sort": "Unbekannte Sortierung.",
}
