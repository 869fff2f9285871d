"""The web app's texts of the review of a draft metadata version (``draft.*``), and of the
derived values a migration sets (``versions.derived``): the design page's second half, kept
apart from :mod:`renderers.i18n.web` for its size. The catalogue (:data:`renderers.i18n.SECTIONS`)
merges them into the ``web`` section.
"""

from __future__ import annotations

EN: dict[str, str] = {
    "draft.title": "Draft version {number} ({oid})",
    "draft.intro": "Compared with the current version {current}. Read each part, then publish.",
    "draft.back": "Back to the versions",
    "draft.findings": "1. Findings of the file",
    "draft.no_findings": "The file has no findings.",
    "draft.line": "Line",
    "draft.diff": "2. Changes against version {current}",
    "draft.no_diff": "No differences.",
    "draft.changes_total": "{n} change(s)",
    "draft.kind_added": "added",
    "draft.kind_removed": "removed",
    "draft.kind_changed": "changed",
    "draft.kind_moved": "moved",
    "draft.kind_renamed": "renamed",
    "draft.more": "… and {n} more",
    "draft.element": "Element",
    "draft.changes": "Changes",
    "draft.fold_translation": "{lang}: {n} text(s) added ({texts})",
    "draft.fold_alias": "{context}: {n} Alias(es) added",
    "draft.folded": "{n} added translation(s) and Alias(es) counted per language or Context, "
    "not listed.",
    "draft.list_all": "List every change",
    "draft.listed_all": "Every change is listed.",
    "draft.show_summary": "Show the summary",
    "draft.impact": "3. Impact on stored data",
    "draft.no_impact": "No stored value becomes invalid.",
    "draft.impact_total": "{n} stored value(s) of {subjects} subject(s) would be invalid "
    "under this version.",
    "draft.problem": "Problem",
    "draft.values": "Values",
    "draft.site": "Site",
    "draft.no_site": "(no site)",
    "draft.subject": "Subject",
    "draft.form": "Form",
    "draft.item": "Item",
    "draft.value": "Value",
    "draft.forms_changed": "Forms holding data whose structure changes",
    "draft.instances": "Forms with data",
    "draft.subjects": "Subjects",
    "draft.problem_removed_item": "item removed",
    "draft.problem_unreachable": "no longer reachable",
    "draft.problem_type": "new DataType",
    "draft.problem_length": "new Length",
    "draft.problem_significant_digits": "new SignificantDigits",
    "draft.problem_code": "code no longer in its list",
    "draft.problem_hard_check": "fails a hard check",
    "draft.preview": "4. Changed forms, as sites will see them",
    "draft.no_forms": "No form changes.",
    "draft.language": "Language",
    "draft.publish": "5. Publish",
    "draft.publish_intro": "Publishing makes version {number} current: new subjects start on it; "
    "subjects already entered stay on their version until a data manager migrates them.",
    "draft.not_publishable": "This draft is older than the current version {current}: "
    "publishing it would not make it current. Load its file again to store it as a new version.",
    "versions.derived": "{n} derived value(s) of the new version set or changed "
    "(one audit row each)",
}

DE: dict[str, str] = {
    "draft.title": "Entwurf Version {number} ({oid})",
    "draft.intro": "Verglichen mit der aktuellen Version {current}. Lesen Sie jeden Teil, "
    "dann veröffentlichen Sie.",
    "draft.back": "Zurück zu den Versionen",
    "draft.findings": "1. Befunde der Datei",
    "draft.no_findings": "Die Datei hat keine Befunde.",
    "draft.line": "Zeile",
    "draft.diff": "2. Änderungen gegenüber Version {current}",
    "draft.no_diff": "Keine Unterschiede.",
    "draft.changes_total": "{n} Änderung(en)",
    "draft.kind_added": "hinzugefügt",
    "draft.kind_removed": "entfernt",
    "draft.kind_changed": "geändert",
    "draft.kind_moved": "verschoben",
    "draft.kind_renamed": "umbenannt",
    "draft.more": "… und {n} weitere",
    "draft.element": "Element",
    "draft.changes": "Änderungen",
    "draft.fold_translation": "{lang}: {n} Text(e) hinzugefügt ({texts})",
    "draft.fold_alias": "{context}: {n} Alias(e) hinzugefügt",
    "draft.folded": "{n} hinzugefügte Übersetzung(en) und Alias(e) je Sprache oder Context "
    "gezählt, nicht aufgelistet.",
    "draft.list_all": "Alle Änderungen auflisten",
    "draft.listed_all": "Alle Änderungen sind aufgelistet.",
    "draft.show_summary": "Zusammenfassung zeigen",
    "draft.impact": "3. Auswirkung auf gespeicherte Daten",
    "draft.no_impact": "Kein gespeicherter Wert wird ungültig.",
    "draft.impact_total": "{n} gespeicherte(r) Wert(e) von {subjects} Patient(en) wären "
    "unter dieser Version ungültig.",
    "draft.problem": "Problem",
    "draft.values": "Werte",
    "draft.site": "Zentrum",
    "draft.no_site": "(kein Zentrum)",
    "draft.subject": "Patient",
    "draft.form": "Formular",
    "draft.item": "Item",
    "draft.value": "Wert",
    "draft.forms_changed": "Formulare mit Daten, deren Struktur sich ändert",
    "draft.instances": "Formulare mit Daten",
    "draft.subjects": "Patienten",
    "draft.problem_removed_item": "Item entfernt",
    "draft.problem_unreachable": "nicht mehr erreichbar",
    "draft.problem_type": "neuer DataType",
    "draft.problem_length": "neue Length",
    "draft.problem_significant_digits": "neue SignificantDigits",
    "draft.problem_code": "Code nicht mehr in seiner Liste",
    "draft.problem_hard_check": "verletzt eine harte Prüfung",
    "draft.preview": "4. Geänderte Formulare, wie die Zentren sie sehen werden",
    "draft.no_forms": "Keine Formularänderungen.",
    "draft.language": "Sprache",
    "draft.publish": "5. Veröffentlichen",
    "draft.publish_intro": "Veröffentlichen macht Version {number} aktuell: neue Patienten "
    "beginnen darauf; bereits erfasste Patienten bleiben auf ihrer Version, bis ein "
    "Datenmanager sie migriert.",
    "draft.not_publishable": "Dieser Entwurf ist älter als die aktuelle Version {current}: "
    "Veröffentlichen würde ihn nicht aktuell machen. Laden Sie die Datei erneut, um sie als "
    "neue Version zu speichern.",
    "versions.derived": "{n} abgeleitete(r) Wert(e) der neuen Version gesetzt oder geändert "
    "(je ein Audit-Eintrag)",
}
