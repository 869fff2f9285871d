"""Pure scale conversions between common clinical measurement units.

A MeasurementUnit is recognised by its Symbol (any language) or Name, e.g. ``kg``,
``Kilograms``, ``lbs``, ``in``, ``g/dL``. Only conversions that are a fixed factor within one
dimension are known (g/dL <-> g/L, lb <-> kg, in <-> cm, mmol/L <-> µmol/L). Conversions that
depend on the analyte (mg/dL <-> µmol/L for creatinine) or are affine (°C <-> °F) are not.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from odm_engine import model as m

# symbol -> (dimension, factor to the dimension's base unit)
_SCALE: dict[str, tuple[str, Decimal]] = {}


def _add(dimension: str, factor: str, *names: str) -> None:
    for name in names:
        _SCALE[name] = (dimension, Decimal(factor))


_add("mass", "1000", "kg", "kilogram", "kilograms", "kilo", "kilos")
_add("mass", "1", "g", "gram", "grams")
_add("mass", "0.001", "mg", "milligram", "milligrams")
_add("mass", "0.000001", "ug", "microgram", "micrograms", "mcg")
_add("mass", "453.59237", "lb", "lbs", "pound", "pounds")
_add("mass", "28.349523125", "oz", "ounce", "ounces")
_add("length", "100", "m", "meter", "meters", "metre", "metres")
_add("length", "1", "cm", "centimeter", "centimeters", "centimetre", "centimetres")
_add("length", "0.1", "mm", "millimeter", "millimeters", "millimetre", "millimetres")
_add("length", "2.54", "in", "inch", "inches")
_add("length", "30.48", "ft", "foot", "feet")
_add("mass/volume", "1", "g/l")
_add("mass/volume", "10", "g/dl", "g/100ml")
_add("mass/volume", "0.01", "mg/dl")
_add("mass/volume", "0.001", "mg/l", "ug/ml")
_add("mass/volume", "1", "mg/ml")
_add("mass/volume", "0.000001", "ng/ml", "ug/l")
_add("substance/volume", "1000", "mol/l")
_add("substance/volume", "1", "mmol/l")
_add("substance/volume", "0.001", "umol/l")
_add("substance/volume", "0.000001", "nmol/l")
_add("volume", "1000", "l", "liter", "liters", "litre", "litres")
_add("volume", "100", "dl")
_add("volume", "1", "ml", "milliliter", "milliliters", "millilitre", "millilitres")
_add("pressure", "1", "mmhg", "mm hg")
_add("pressure", "7.500617", "kpa")
_add("time", "86400", "d", "day", "days")
_add("time", "3600", "h", "hr", "hour", "hours")
_add("time", "60", "min", "minute", "minutes")
_add("time", "604800", "wk", "week", "weeks")
_add("count/volume", "1", "10^9/l", "10*9/l", "giga/l", "thousand/ul", "10^3/ul", "10*3/ul")
_add("count/volume", "1000", "10^12/l", "10*12/l", "million/ul", "10^6/ul", "10*6/ul")


def _normal(text: str) -> str:
    text = text.strip().lower().replace("µ", "u").replace("μ", "u").replace("mcg", "ug")
    return " ".join(text.split()).replace(" /", "/").replace("/ ", "/")


def scale(unit: m.MeasurementUnit) -> tuple[str, Decimal] | None:
    """(dimension, factor to base) for a MeasurementUnit, or None when it is not known."""
    names = [tt.text for tt in unit.symbol.translations] + [unit.name]
    for name in names:
        found = _SCALE.get(_normal(name))
        if found is not None:
            return found
    return None


def factor(from_oid: str, to_oid: str, units: Mapping[str, m.MeasurementUnit]) -> Decimal | None:
    """Multiply a value in ``from_oid`` by this to get it in ``to_oid``; None if unknown."""
    if from_oid == to_oid:
        return Decimal(1)
    a, b = units.get(from_oid), units.get(to_oid)
    if a is None or b is None:
        return None
    sa, sb = scale(a), scale(b)
    if sa is None or sb is None or sa[0] != sb[0]:
        return None
    return sa[1] / sb[1]
