"""Unit conversion: length, mass, temperature, time, volume, speed and data sizes."""

from __future__ import annotations

from typing_extensions import TypedDict

from f1.errors import ToolCallError
from f1.tools.builtin._common import with_examples
from f1.tools.registry import tool

# dimension -> unit -> (factor to the dimension's base unit, aliases). Temperature is affine, handled apart.
_TABLE: dict[str, dict[str, tuple[float, tuple[str, ...]]]] = {
    "length": {
        "m": (1.0, ("meter", "meters", "metre", "metres")),
        "km": (1000.0, ("kilometer", "kilometers", "kilometre", "kilometres")),
        "cm": (0.01, ("centimeter", "centimeters", "centimetre", "centimetres")),
        "mm": (0.001, ("millimeter", "millimeters", "millimetre", "millimetres")),
        "um": (1e-6, ("micrometer", "micrometers", "micron", "microns", "µm")),
        "nm": (1e-9, ("nanometer", "nanometers")),
        "mi": (1609.344, ("mile", "miles")),
        "yd": (0.9144, ("yard", "yards")),
        "ft": (0.3048, ("foot", "feet")),
        "in": (0.0254, ("inch", "inches")),
        "nmi": (1852.0, ("nautical mile", "nautical miles")),
        "au": (149_597_870_700.0, ("astronomical unit", "astronomical units")),
        "ly": (9_460_730_472_580_800.0, ("light year", "light years", "light-year", "light-years")),
    },
    "mass": {
        "kg": (1.0, ("kilogram", "kilograms", "kilo", "kilos")),
        "g": (0.001, ("gram", "grams")),
        "mg": (1e-6, ("milligram", "milligrams")),
        "ug": (1e-9, ("microgram", "micrograms", "µg")),
        "t": (1000.0, ("tonne", "tonnes", "metric ton", "metric tons")),
        "lb": (0.45359237, ("lbs", "pound", "pounds")),
        "oz": (0.028349523125, ("ounce", "ounces")),
        "st": (6.35029318, ("stone", "stones")),
        "short ton": (907.18474, ("short tons", "us ton", "us tons")),
        "long ton": (1016.0469088, ("long tons", "imperial ton", "imperial tons")),
    },
    "time": {
        "s": (1.0, ("sec", "secs", "second", "seconds")),
        "ms": (0.001, ("millisecond", "milliseconds")),
        "us": (1e-6, ("microsecond", "microseconds", "µs")),
        "ns": (1e-9, ("nanosecond", "nanoseconds")),
        "min": (60.0, ("mins", "minute", "minutes")),
        "h": (3600.0, ("hr", "hrs", "hour", "hours")),
        "day": (86400.0, ("d", "days")),
        "week": (604800.0, ("wk", "weeks")),
        "month": (2_629_746.0, ("months",)),  # a mean Gregorian month
        "year": (31_556_952.0, ("yr", "years")),  # a mean Gregorian year
    },
    "volume": {
        "l": (1.0, ("liter", "liters", "litre", "litres")),
        "ml": (0.001, ("milliliter", "milliliters", "millilitre", "millilitres")),
        "cl": (0.01, ("centiliter", "centiliters", "centilitre", "centilitres")),
        "m3": (1000.0, ("cubic meter", "cubic meters", "cubic metre", "cubic metres", "m^3")),
        "cm3": (0.001, ("cubic centimeter", "cubic centimeters", "cc", "cm^3")),
        "gal": (3.785411784, ("gallon", "gallons", "us gallon", "us gallons")),
        "imp gal": (4.54609, ("imperial gallon", "imperial gallons")),
        "qt": (0.946352946, ("quart", "quarts")),
        "pt": (0.473176473, ("pint", "pints")),
        "cup": (0.2365882365, ("cups",)),
        "fl oz": (0.0295735295625, ("floz", "fluid ounce", "fluid ounces")),
        "tbsp": (0.01478676478125, ("tablespoon", "tablespoons")),
        "tsp": (0.00492892159375, ("teaspoon", "teaspoons")),
        "ft3": (28.316846592, ("cubic foot", "cubic feet", "ft^3")),
    },
    "speed": {
        "m/s": (1.0, ("mps", "meters per second", "metres per second")),
        "km/h": (1 / 3.6, ("kmh", "kph", "kilometers per hour", "kilometres per hour")),
        "mph": (0.44704, ("mi/h", "miles per hour")),
        "knot": (1852 / 3600, ("knots", "kn", "kt")),
        "ft/s": (0.3048, ("fps", "feet per second")),
    },
    "data": {
        "B": (1.0, ("byte", "bytes")),
        "bit": (0.125, ("bits",)),
        "KB": (1e3, ("kilobyte", "kilobytes")),
        "MB": (1e6, ("megabyte", "megabytes")),
        "GB": (1e9, ("gigabyte", "gigabytes")),
        "TB": (1e12, ("terabyte", "terabytes")),
        "PB": (1e15, ("petabyte", "petabytes")),
        "KiB": (1024.0, ("kibibyte", "kibibytes")),
        "MiB": (1024.0**2, ("mebibyte", "mebibytes")),
        "GiB": (1024.0**3, ("gibibyte", "gibibytes")),
        "TiB": (1024.0**4, ("tebibyte", "tebibytes")),
        "kbit": (125.0, ("kilobit", "kilobits")),
        "Mbit": (125e3, ("megabit", "megabits")),
        "Gbit": (125e6, ("gigabit", "gigabits")),
    },
}
# temperature unit -> (scale, offset): kelvin = value * scale + offset
_TEMPERATURE: dict[str, tuple[float, float, tuple[str, ...]]] = {
    "C": (1.0, 273.15, ("°c", "celsius", "centigrade", "degc")),
    "F": (5 / 9, 273.15 - 32 * 5 / 9, ("°f", "fahrenheit", "degf")),
    "K": (1.0, 0.0, ("kelvin", "kelvins")),
}


def _index() -> dict[str, tuple[str, str]]:
    index: dict[str, tuple[str, str]] = {}
    tables = {**_TABLE, "temperature": {unit: (0.0, aliases) for unit, (_, _, aliases) in _TEMPERATURE.items()}}
    for dimension, units in tables.items():
        for unit, (_, aliases) in units.items():
            for name in (unit, *aliases):
                index[name.casefold()] = (dimension, unit)
    return index


_UNITS = _index()


def _unit(name: str) -> tuple[str, str]:
    found = _UNITS.get(name.strip().casefold())
    if found is None:
        raise ToolCallError(f"unknown unit {name!r}; known: {', '.join(sorted(unit_names()))}", tool="convert_units")
    return found


def unit_names() -> list[str]:
    """Every unit's canonical symbol."""
    return [*(unit for units in _TABLE.values() for unit in units), *_TEMPERATURE]


class Conversion(TypedDict):
    value: float
    unit: str
    dimension: str


@with_examples(
    {"value": 10, "from_unit": "km", "to_unit": "mi"},
    {"value": 72, "from_unit": "F", "to_unit": "C"},
    {"value": 3, "from_unit": "GiB", "to_unit": "MB"},
)
@tool(idempotent=True, read_only=True, timeout=5)
def convert_units(value: float, from_unit: str, to_unit: str) -> Conversion:
    """Convert a quantity between units of length, mass, temperature, time, volume, speed or data size.
    Units are symbols or names: km, mile, lb, kg, C, F, K, h, day, l, gal, km/h, mph, MB, GiB, bit...
    Data sizes: KB/MB/GB are powers of 1000, KiB/MiB/GiB powers of 1024.

    Args:
        value: the quantity to convert.
        from_unit: the unit of value, e.g. "km".
        to_unit: the unit to convert to, e.g. "mi".
    """
    source, target = _unit(from_unit), _unit(to_unit)
    if source[0] != target[0]:
        raise ToolCallError(f"cannot convert {source[0]} ({from_unit}) to {target[0]} ({to_unit})", tool="convert_units")
    dimension = source[0]
    if dimension == "temperature":
        scale_in, offset_in, _ = _TEMPERATURE[source[1]]
        scale_out, offset_out, _ = _TEMPERATURE[target[1]]
        result = (value * scale_in + offset_in - offset_out) / scale_out
    else:
        result = value * _TABLE[dimension][source[1]][0] / _TABLE[dimension][target[1]][0]
    return Conversion(value=float(f"{result:.12g}"), unit=target[1], dimension=dimension)


TOOLS = [convert_units]
