"""The sentences of ``edc explain`` (:mod:`odm_engine.explain`), in English and German.

Part of the engine's texts: ``odm_engine.engine_texts`` merges these tables into its own, so
``engine_text`` reads them and ``tests/expressions/test_engine_texts.py`` holds both to the
same keys and fields. The words of a condition itself come from the printed CRF's phrase table
(``renderers.i18n`` section ``print``), which the caller gives in the same language.
"""

from __future__ import annotations

_EVERY_SAVE_EN = "computed on every save and import, not entered"
_EVERY_SAVE_DE = "bei jedem Speichern und Import berechnet, nicht eingegeben"

EXPLAIN_EN: dict[str, str] = {
    "x_odm_rule": (
        "ODM rule: a CollectionExceptionCondition that is true HIDES what it is attached to "
        "(not collected); false or unknown, it is asked. This is the opposite of REDCap's "
        "branching logic, which shows a field when its expression is true."
    ),
    "x_other_kind": (
        "{oid} is a {kind}; edc explain explains ConditionDefs, MethodDefs and ItemDefs "
        "(edc info FILE shows the study's structure)."
    ),
    "x_unknown": "{oid}: no ConditionDef, MethodDef or ItemDef has this OID.{hint}",
    "x_did_you_mean": " Did you mean {oid}?",
    "x_ItemRef": "{target} (in item group {parent})",
    "x_ItemGroupRef": "Item group {target} (on form {parent})",
    "x_FormRef": "Form {target} (in study event {parent})",
    "x_StudyEventRef": "Study event {target}",
    "x_that_is": ", that is when {words}",
    "x_hidden": (
        "{what} is hidden (not collected) when {condition} is true{that_is}; it is asked otherwise."
    ),
    "x_condition": "ConditionDef {oid} ({name}): true when {when}.",
    "x_no_expression": "(no expression)",
    "x_description": "  Description: {text}",
    "x_hides_nothing": "It is the CollectionExceptionCondition of no Ref: it hides nothing.",
    "x_method": "MethodDef {oid} ({name}, {type}): computes {oel}.",
    "x_reads": "  Reads: {items}",
    "x_no_item": "no item",
    "x_derives_nothing": "No ItemRef names it as its MethodOID: it derives nothing.",
    "x_derives": (
        "Derives {target} (in item group {parent}): the value is "
        + _EVERY_SAVE_EN
        + "; a value given for it is replaced by the computed one (a query says so when they "
        "differ)."
    ),
    "x_item": "ItemDef {oid} ({name}): {summary}.",
    "x_question": "  Question: {text}",
    "x_never_collected": "No ItemGroupDef refers to it: it is never collected.",
    "x_item_ref": "ItemRef in item group {group}: {need}.",
    "x_mandatory": "mandatory",
    "x_optional": "optional",
    "x_derived_by": "  Derived by {method}: " + _EVERY_SAVE_EN + ".",
    "x_range": "{kind} check {check}: {want}; {outcome}{said}.",
    "x_soft": "Soft",
    "x_hard": "Hard",
    "x_soft_outcome": "otherwise the value is saved and a query opens",
    "x_hard_outcome": "otherwise the value is refused",
    "x_must_hold": "{words} must hold",
    "x_must_be": "the value must be {phrase} {values}{symbol}",
    "x_length": "Length {n}",
    "x_significant_digits": "SignificantDigits {n}",
    "x_units": "units {symbols}",
    "x_code_list": "code list {oid}",
}

EXPLAIN_DE: dict[str, str] = {
    "x_odm_rule": (
        "ODM-Regel: Eine CollectionExceptionCondition, die wahr ist, BLENDET AUS, woran sie "
        "hängt (nicht erhoben); ist sie falsch oder unbekannt, wird gefragt. Das ist das "
        "Gegenteil der Verzweigungslogik von REDCap, die ein Feld zeigt, wenn ihr Ausdruck "
        "wahr ist."
    ),
    "x_other_kind": (
        "{oid} ist eine {kind}; edc explain erklärt ConditionDefs, MethodDefs und ItemDefs "
        "(edc info DATEI zeigt den Aufbau der Studie)."
    ),
    "x_unknown": "{oid}: Keine ConditionDef, MethodDef oder ItemDef hat diese OID.{hint}",
    "x_did_you_mean": " Meinten Sie {oid}?",
    "x_ItemRef": "{target} (in der Gruppe {parent})",
    "x_ItemGroupRef": "Die Gruppe {target} (im Formular {parent})",
    "x_FormRef": "Das Formular {target} (im Studienereignis {parent})",
    "x_StudyEventRef": "Das Studienereignis {target}",
    "x_that_is": ", also wenn {words}",
    "x_hidden": (
        "{what} wird ausgeblendet (nicht erhoben), wenn {condition} wahr ist{that_is}; sonst "
        "wird gefragt."
    ),
    "x_condition": "ConditionDef {oid} ({name}): wahr, wenn {when}.",
    "x_no_expression": "(kein Ausdruck)",
    "x_description": "  Beschreibung: {text}",
    "x_hides_nothing": (
        "Sie ist die CollectionExceptionCondition keiner Ref: Sie blendet nichts aus."
    ),
    "x_method": "MethodDef {oid} ({name}, {type}): berechnet {oel}.",
    "x_reads": "  Liest: {items}",
    "x_no_item": "kein Item",
    "x_derives_nothing": "Keine ItemRef nennt sie als MethodOID: Sie berechnet nichts.",
    "x_derives": (
        "Berechnet {target} (in der Gruppe {parent}): Der Wert wird "
        + _EVERY_SAVE_DE
        + "; ein für ihn angegebener Wert wird durch den berechneten ersetzt (eine Rückfrage "
        "sagt es, wenn sie sich unterscheiden)."
    ),
    "x_item": "ItemDef {oid} ({name}): {summary}.",
    "x_question": "  Frage: {text}",
    "x_never_collected": "Keine ItemGroupDef verweist darauf: Es wird nie erhoben.",
    "x_item_ref": "ItemRef in der Gruppe {group}: {need}.",
    "x_mandatory": "Pflicht",
    "x_optional": "optional",
    "x_derived_by": "  Berechnet von {method}: " + _EVERY_SAVE_DE + ".",
    "x_range": "{kind} Prüfung {check}: {want}; {outcome}{said}.",
    "x_soft": "Weiche",
    "x_hard": "Harte",
    "x_soft_outcome": "sonst wird der Wert gespeichert und eine Rückfrage eröffnet",
    "x_hard_outcome": "sonst wird der Wert abgelehnt",
    "x_must_hold": "verlangt wird, dass {words}",
    "x_must_be": "der Wert muss {phrase} {values}{symbol} sein",
    "x_length": "Length {n}",
    "x_significant_digits": "SignificantDigits {n}",
    "x_units": "Einheiten {symbols}",
    "x_code_list": "Codeliste {oid}",
}
