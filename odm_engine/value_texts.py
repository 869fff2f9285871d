"""The engine's sentences about single values, in English and German: what a DataType is
called and how to write it, why a text is not of its DataType, and a repeat key a group does
not take.

Part of the engine's texts (``odm_engine.engine_texts`` merges these tables into its own, so
``engine_text`` reads them); kept apart because they are many. Keys ``noun.<DataType>`` and
``how.<DataType>`` name a DataType of the registry (``tests/test_datatypes.py`` holds the
English ones equal to the registry's ``noun`` and ``how``); ``r_*`` keys are the reasons of a
``LexicalError``; ``month_<n>`` names a month.
"""

from __future__ import annotations

_NUMBER_HOW_EN = (
    "Write digits with an optional sign, decimal point and exponent, e.g. 3.14 or 1.2E3."
)
_NUMBER_HOW_DE = (
    "Schreiben Sie Ziffern mit optionalem Vorzeichen, Dezimalpunkt und Exponenten, "
    "z. B. 3.14 oder 1.2E3."
)
_HEX_HOW_EN = "Write pairs of digits 0-9 and A-F, e.g. 0FA3."
_HEX_HOW_DE = "Schreiben Sie Paare der Ziffern 0-9 und A-F, z. B. 0FA3."
_BASE64_HOW_EN = "Write base64 characters padded with = to a multiple of 4, e.g. SGVsbG8=."
_BASE64_HOW_DE = (
    "Schreiben Sie base64-Zeichen, mit = auf ein Vielfaches von 4 aufgefüllt, z. B. SGVsbG8=."
)
_TEXT_HOW_EN = "Enter at least one character."
_TEXT_HOW_DE = "Geben Sie mindestens ein Zeichen ein."

VALUE_EN: dict[str, str] = {
    # the frames of a DataTypeProblem
    "empty": "The value is empty; {noun} is expected. {how}",
    "not_xml": "The value contains the character U+{code}, which XML cannot carry. Remove it.",
    "not_of_type": "'{text}' is not {noun}{why}. {how}",
    "too_long": (
        "The value is {count} characters long; at most {length} are allowed "
        "(Length={length}). Shorten it."
    ),
    "too_many_decimals": (
        "'{text}' has {decimals} digits after the decimal point; at most {most} are allowed "
        "(SignificantDigits={most}). Round it, e.g. to {rounded}."
    ),
    "too_many_digits": (
        "'{text}' has {digits} digits; at most {length} are allowed (Length={length}). Check "
        "the value; if it is right, the ItemDef's Length is too small."
    ),
    "not_in_code_list": (
        '{item}: "{text}" is not in CodeList {code_list} ({shown}). Choose one of its coded values.'
    ),
    "not_repeating": (
        'ItemGroupDef {group} does not repeat (Repeating="No"): it takes no '
        'ItemGroupRepeatKey ("{key}" given). Give its values without one.'
    ),
    "second_instance": (
        "ItemGroupDef {group} does not repeat: this form holds it under "
        'ItemGroupRepeatKey "{key}" already. Give its values under that key.'
    ),
    "not_a_unit": "{where}: {unit!r} is not a unit of {item} ({choices}).",
    "no_unit": "none: the item takes no unit",
    "form_not_collected": (
        "Form {form} is not collected for subject {subject}: its collection exception "
        "condition ({why}) is true. It cannot be saved."
    ),
    # what each DataType is called and how to write it
    "noun.text": "text",
    "how.text": _TEXT_HOW_EN,
    "noun.string": "text",
    "how.string": _TEXT_HOW_EN,
    "noun.integer": "an integer",
    "how.integer": "Write digits with an optional sign, e.g. 42 or -7.",
    "noun.float": "a number",
    "how.float": _NUMBER_HOW_EN,
    "noun.double": "a number",
    "how.double": _NUMBER_HOW_EN,
    "noun.boolean": "a boolean",
    "how.boolean": "Write true or false (1 and 0 are accepted too).",
    "noun.date": "a date",
    "how.date": "Write YYYY-MM-DD, e.g. 2019-12-01.",
    "noun.time": "a time",
    "how.time": "Write hh:mm:ss with an optional time zone, e.g. 14:30:00+01:00.",
    "noun.datetime": "a datetime",
    "how.datetime": (
        "Write YYYY-MM-DDThh:mm:ss with an optional time zone, e.g. 2019-12-01T14:30:00."
    ),
    "noun.partialDate": "a partial date",
    "how.partialDate": "Write YYYY, YYYY-MM or YYYY-MM-DD, e.g. 2019-12.",
    "noun.partialTime": "a partial time",
    "how.partialTime": "Write hh, hh:mm or hh:mm:ss, e.g. 14:30.",
    "noun.partialDatetime": "a partial datetime",
    "how.partialDatetime": (
        "Write YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DD followed by T and hh, hh:mm or "
        "hh:mm:ss, e.g. 2019-12-01T14:30."
    ),
    "noun.incompleteDate": "an incomplete date",
    "how.incompleteDate": (
        "Write YYYY-MM-DD with a single '-' for each unknown part, e.g. 2019---15 or --12-15."
    ),
    "noun.incompleteTime": "an incomplete time",
    "how.incompleteTime": (
        "Write hh:mm:ss with a single '-' for each unknown part, e.g. 14:-:- or -:30:-."
    ),
    "noun.incompleteDatetime": "an incomplete datetime",
    "how.incompleteDatetime": (
        "Write YYYY-MM-DDThh:mm:ss with a single '-' for each unknown part, e.g. 2019---15T14:-:-."
    ),
    "noun.durationDatetime": "a duration",
    "how.durationDatetime": (
        "Write PnYnMnDTnHnMnS or PnW, e.g. P1Y2M10D, PT4H35M or P2W; "
        "only the seconds may have decimals."
    ),
    "noun.intervalDatetime": "an interval",
    "how.intervalDatetime": (
        "Write start/end, start/duration or duration/end, "
        "e.g. 2019-01-01/2019-03-31 or 2019-01-01T08:00/PT4H."
    ),
    "noun.hexBinary": "hexadecimal binary",
    "how.hexBinary": _HEX_HOW_EN,
    "noun.hexFloat": "a hexadecimal float",
    "how.hexFloat": _HEX_HOW_EN,
    "noun.base64Binary": "base64 binary",
    "how.base64Binary": _BASE64_HOW_EN,
    "noun.base64Float": "a base64 float",
    "how.base64Float": _BASE64_HOW_EN,
    "noun.URI": "a URI",
    "how.URI": "Write a URI without spaces, e.g. https://example.org/a%20b.",
    # why a text is not of its DataType (LexicalError)
    "r_control": "it contains a control character",
    "r_space": "it contains a space; write a space as %20",
    "r_not_whole": "it is not a whole number",
    "r_digits": "it has more than {most} digits",
    "r_comma": "write the decimal separator as a point, not a comma",
    "r_inf": "write INF, -INF or NaN exactly so",
    "r_out_of_range": "it is out of range (1E-{most} to 1E+{most})",
    "r_lower": "write it in lower case",
    "r_yes_no": "Yes/No answers belong in a CodeList, not a boolean",
    "r_odd_hex": "it has an odd number of digits; each byte takes two",
    "r_base64_length": "its length is not a multiple of 4; pad it with =",
    "r_base64_bits": "its last character before the padding carries stray bits",
    "r_no_day_part": "the day is missing",
    "r_no_minutes": "the minutes are missing",
    "r_no_seconds": "the seconds are missing",
    "r_no_time": "the time is missing",
    "r_bare_t": "T must be followed by hours, minutes or seconds",
    "r_no_components": "it has no components",
    "r_component_digits": "a component has more than 9 digits",
    "r_one_slash": "it needs exactly one '/' between its two parts",
    "r_negative_duration": "the duration of an interval cannot be negative",
    "r_two_durations": "only one of its parts may be a duration",
    "r_end_before_start": "the end is before the start",
    "r_zone_minute": "time zone minute {minutes} does not exist",
    "r_zone_beyond": "time zone offset {offset} is beyond ±14:00",
    "r_dash_date": "'-' for an unknown part is allowed only in incomplete dates",
    "r_dash_time": "'-' for an unknown part is allowed only in incomplete times",
    "r_time_after_partial": "a time may follow only a complete date (YYYY-MM-DD)",
    "r_dashes_before_time": (
        "before a time, write every date part with '-' for unknown ones, e.g. 2019-03--T14:30"
    ),
    "r_year_range": "year {year} is outside 0001 to 9999",
    "r_no_month": "month {month} does not exist",
    "r_no_day": "day {day} does not exist",
    "r_not_leap": "{year} is not a leap year, so February has 28 days",
    "r_february": "February has at most 29 days",
    "r_month_days": "{month} has {days} days",
    "r_hour_24": "hour 24 does not exist; midnight is 00:00:00 of the next day",
    "r_no_hour": "hour {part} does not exist",
    "r_no_minute": "minute {part} does not exist",
    "r_no_second": "second {part} does not exist",
    "r_microsecond": "microsecond {part} is outside 0 to 999999",
    "r_fraction": "a fraction of a second needs the seconds",
    "r_offset_minutes": "time zone offset {offset} is not whole minutes within ±14:00",
    "month_1": "January",
    "month_2": "February",
    "month_3": "March",
    "month_4": "April",
    "month_5": "May",
    "month_6": "June",
    "month_7": "July",
    "month_8": "August",
    "month_9": "September",
    "month_10": "October",
    "month_11": "November",
    "month_12": "December",
}

VALUE_DE: dict[str, str] = {
    "empty": "Der Wert ist leer; erwartet wird {noun}. {how}",
    "not_xml": (
        "Der Wert enthält das Zeichen U+{code}, das XML nicht darstellen kann. Entfernen Sie es."
    ),
    "not_of_type": "'{text}' ist kein gültiger Wert (erwartet: {noun}){why}. {how}",
    "too_long": (
        "Der Wert ist {count} Zeichen lang; höchstens {length} sind erlaubt "
        "(Length={length}). Kürzen Sie ihn."
    ),
    "too_many_decimals": (
        "'{text}' hat {decimals} Nachkommastellen; höchstens {most} sind erlaubt "
        "(SignificantDigits={most}). Runden Sie ihn, z. B. auf {rounded}."
    ),
    "too_many_digits": (
        "'{text}' hat {digits} Ziffern; höchstens {length} sind erlaubt (Length={length}). "
        "Prüfen Sie den Wert; ist er richtig, ist die Length der ItemDef zu klein."
    ),
    "not_in_code_list": (
        '{item}: "{text}" ist nicht in der Codeliste {code_list} ({shown}). Wählen Sie einen '
        "ihrer Codes."
    ),
    "not_repeating": (
        'Die Gruppe {group} wiederholt sich nicht (Repeating="No"): Sie nimmt keinen '
        'ItemGroupRepeatKey ("{key}" angegeben). Geben Sie ihre Werte ohne ihn an.'
    ),
    "second_instance": (
        "Die Gruppe {group} wiederholt sich nicht: Dieses Formular hat sie schon unter dem "
        'ItemGroupRepeatKey "{key}". Geben Sie ihre Werte unter diesem Schlüssel an.'
    ),
    "not_a_unit": "{where}: {unit!r} ist keine Einheit von {item} ({choices}).",
    "no_unit": "keine: das Item hat keine Einheit",
    "form_not_collected": (
        "Das Formular {form} wird für den Teilnehmer {subject} nicht erhoben: Seine "
        "Ausnahmebedingung ({why}) ist wahr. Es kann nicht gespeichert werden."
    ),
    "noun.text": "Text",
    "how.text": _TEXT_HOW_DE,
    "noun.string": "Text",
    "how.string": _TEXT_HOW_DE,
    "noun.integer": "eine ganze Zahl",
    "how.integer": "Schreiben Sie Ziffern mit optionalem Vorzeichen, z. B. 42 oder -7.",
    "noun.float": "eine Zahl",
    "how.float": _NUMBER_HOW_DE,
    "noun.double": "eine Zahl",
    "how.double": _NUMBER_HOW_DE,
    "noun.boolean": "ein Wahrheitswert",
    "how.boolean": "Schreiben Sie true oder false (1 und 0 werden auch angenommen).",
    "noun.date": "ein Datum",
    "how.date": "Schreiben Sie JJJJ-MM-TT, z. B. 2019-12-01.",
    "noun.time": "eine Uhrzeit",
    "how.time": "Schreiben Sie hh:mm:ss mit optionaler Zeitzone, z. B. 14:30:00+01:00.",
    "noun.datetime": "ein Zeitpunkt",
    "how.datetime": (
        "Schreiben Sie JJJJ-MM-TTThh:mm:ss mit optionaler Zeitzone, z. B. 2019-12-01T14:30:00."
    ),
    "noun.partialDate": "ein Teildatum",
    "how.partialDate": "Schreiben Sie JJJJ, JJJJ-MM oder JJJJ-MM-TT, z. B. 2019-12.",
    "noun.partialTime": "eine Teiluhrzeit",
    "how.partialTime": "Schreiben Sie hh, hh:mm oder hh:mm:ss, z. B. 14:30.",
    "noun.partialDatetime": "ein Teilzeitpunkt",
    "how.partialDatetime": (
        "Schreiben Sie JJJJ, JJJJ-MM, JJJJ-MM-TT oder JJJJ-MM-TT gefolgt von T und hh, hh:mm "
        "oder hh:mm:ss, z. B. 2019-12-01T14:30."
    ),
    "noun.incompleteDate": "ein unvollständiges Datum",
    "how.incompleteDate": (
        "Schreiben Sie JJJJ-MM-TT mit einem einzelnen '-' für jeden unbekannten Teil, "
        "z. B. 2019---15 oder --12-15."
    ),
    "noun.incompleteTime": "eine unvollständige Uhrzeit",
    "how.incompleteTime": (
        "Schreiben Sie hh:mm:ss mit einem einzelnen '-' für jeden unbekannten Teil, "
        "z. B. 14:-:- oder -:30:-."
    ),
    "noun.incompleteDatetime": "ein unvollständiger Zeitpunkt",
    "how.incompleteDatetime": (
        "Schreiben Sie JJJJ-MM-TTThh:mm:ss mit einem einzelnen '-' für jeden unbekannten Teil, "
        "z. B. 2019---15T14:-:-."
    ),
    "noun.durationDatetime": "eine Dauer",
    "how.durationDatetime": (
        "Schreiben Sie PnYnMnDTnHnMnS oder PnW, z. B. P1Y2M10D, PT4H35M oder P2W; "
        "nur die Sekunden dürfen Nachkommastellen haben."
    ),
    "noun.intervalDatetime": "ein Zeitraum",
    "how.intervalDatetime": (
        "Schreiben Sie Beginn/Ende, Beginn/Dauer oder Dauer/Ende, "
        "z. B. 2019-01-01/2019-03-31 oder 2019-01-01T08:00/PT4H."
    ),
    "noun.hexBinary": "hexadezimale Binärdaten",
    "how.hexBinary": _HEX_HOW_DE,
    "noun.hexFloat": "eine hexadezimale Gleitkommazahl",
    "how.hexFloat": _HEX_HOW_DE,
    "noun.base64Binary": "base64-Binärdaten",
    "how.base64Binary": _BASE64_HOW_DE,
    "noun.base64Float": "eine base64-Gleitkommazahl",
    "how.base64Float": _BASE64_HOW_DE,
    "noun.URI": "eine URI",
    "how.URI": "Schreiben Sie eine URI ohne Leerzeichen, z. B. https://example.org/a%20b.",
    "r_control": "er enthält ein Steuerzeichen",
    "r_space": "er enthält ein Leerzeichen; schreiben Sie ein Leerzeichen als %20",
    "r_not_whole": "er ist keine ganze Zahl",
    "r_digits": "er hat mehr als {most} Ziffern",
    "r_comma": "schreiben Sie das Dezimaltrennzeichen als Punkt, nicht als Komma",
    "r_inf": "schreiben Sie INF, -INF oder NaN genau so",
    "r_out_of_range": "er liegt außerhalb des Bereichs (1E-{most} bis 1E+{most})",
    "r_lower": "schreiben Sie ihn klein",
    "r_yes_no": "Ja/Nein-Antworten gehören in eine Codeliste, nicht in einen Wahrheitswert",
    "r_odd_hex": "er hat eine ungerade Zahl von Ziffern; jedes Byte braucht zwei",
    "r_base64_length": "seine Länge ist kein Vielfaches von 4; füllen Sie mit = auf",
    "r_base64_bits": "sein letztes Zeichen vor dem Auffüllen trägt überzählige Bits",
    "r_no_day_part": "der Tag fehlt",
    "r_no_minutes": "die Minuten fehlen",
    "r_no_seconds": "die Sekunden fehlen",
    "r_no_time": "die Uhrzeit fehlt",
    "r_bare_t": "auf T müssen Stunden, Minuten oder Sekunden folgen",
    "r_no_components": "er hat keine Bestandteile",
    "r_component_digits": "ein Bestandteil hat mehr als 9 Ziffern",
    "r_one_slash": "er braucht genau einen '/' zwischen seinen beiden Teilen",
    "r_negative_duration": "die Dauer eines Zeitraums kann nicht negativ sein",
    "r_two_durations": "nur einer seiner Teile darf eine Dauer sein",
    "r_end_before_start": "das Ende liegt vor dem Beginn",
    "r_zone_minute": "die Zeitzonen-Minute {minutes} gibt es nicht",
    "r_zone_beyond": "der Zeitzonen-Versatz {offset} liegt jenseits von ±14:00",
    "r_dash_date": "'-' für einen unbekannten Teil ist nur in unvollständigen Daten erlaubt",
    "r_dash_time": "'-' für einen unbekannten Teil ist nur in unvollständigen Uhrzeiten erlaubt",
    "r_time_after_partial": "eine Uhrzeit darf nur auf ein vollständiges Datum (JJJJ-MM-TT) folgen",
    "r_dashes_before_time": (
        "schreiben Sie vor einer Uhrzeit jeden Datumsteil, mit '-' für unbekannte, "
        "z. B. 2019-03--T14:30"
    ),
    "r_year_range": "das Jahr {year} liegt außerhalb von 0001 bis 9999",
    "r_no_month": "den Monat {month} gibt es nicht",
    "r_no_day": "den Tag {day} gibt es nicht",
    "r_not_leap": "{year} ist kein Schaltjahr, der Februar hat also 28 Tage",
    "r_february": "der Februar hat höchstens 29 Tage",
    "r_month_days": "der {month} hat {days} Tage",
    "r_hour_24": "die Stunde 24 gibt es nicht; Mitternacht ist 00:00:00 des nächsten Tages",
    "r_no_hour": "die Stunde {part} gibt es nicht",
    "r_no_minute": "die Minute {part} gibt es nicht",
    "r_no_second": "die Sekunde {part} gibt es nicht",
    "r_microsecond": "die Mikrosekunde {part} liegt außerhalb von 0 bis 999999",
    "r_fraction": "ein Sekundenbruchteil braucht die Sekunden",
    "r_offset_minutes": (
        "der Zeitzonen-Versatz {offset} ist keine ganze Minutenzahl innerhalb von ±14:00"
    ),
    "month_1": "Januar",
    "month_2": "Februar",
    "month_3": "März",
    "month_4": "April",
    "month_5": "Mai",
    "month_6": "Juni",
    "month_7": "Juli",
    "month_8": "August",
    "month_9": "September",
    "month_10": "Oktober",
    "month_11": "November",
    "month_12": "Dezember",
}
