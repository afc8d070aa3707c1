"""The ranges every number Corridor accepts must fall in, each with its unit.

One table serves the data files, the scenario files, the command line and the API: a figure
outside its range (or not finite, or an integer too large for a float) is refused where it
enters, with a message that names the field and the unit, so no total downstream can become
infinite or NaN. ``docs/security.md`` lists the same ranges.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Range:
    """A closed (or left-open) interval of allowed values with the unit they are in."""

    low: float
    high: float
    unit: str = ""
    low_open: bool = False  # True: the value must be strictly above ``low``

    def describe(self) -> str:
        """``"> 0 to 40,000 km"`` or ``"0 to 1e+10 t/year"``."""
        low = f"> {_number(self.low)}" if self.low_open else _number(self.low)
        return f"{low} to {_number(self.high)}{' ' + self.unit if self.unit else ''}"

    def problem(self, value: object) -> str | None:
        """Why ``value`` is not allowed, or None when it is."""
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"{value!r} is not a number"
        try:
            number = float(value)
        except OverflowError:
            return f"{_short(value)} is far outside the allowed range {self.describe()}"
        if not math.isfinite(number):
            return f"{value!r} is not a finite number (allowed: {self.describe()})"
        too_low = number <= self.low if self.low_open else number < self.low
        if too_low or number > self.high:
            unit = f" {self.unit}" if self.unit else ""
            return f"{_short(value)}{unit} is outside the allowed range {self.describe()}"
        return None

    def __call__(self, value: object) -> str | None:
        return self.problem(value)


def _number(value: float) -> str:
    if value == int(value) and abs(value) < 1e7:
        return f"{int(value):,}" if abs(value) >= 10_000 else str(int(value))
    return f"{value:g}"


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 24 else f"{text[:10]}…({len(text)} digits)"


#: Every range, by the name docs/security.md uses for it.
LENGTH_KM = Range(0, 40_000, "km", low_open=True)
LONGITUDE = Range(-180, 180, "degrees")
LATITUDE = Range(-90, 90, "degrees")
TONNES_PER_YEAR = Range(0, 1e10, "t/year")
TONNES = Range(0, 1e10, "t")
TEU_PER_YEAR = Range(0, 1e9, "TEU/year")
DAYS = Range(0, 365, "days")
USD_PER_T = Range(0, 1e6, "USD/t")
USD_PER_TKM = Range(0, 100, "USD/t-km")
SPEED_KM_PER_DAY = Range(0, 50_000, "km/day", low_open=True)
CO2_G_PER_TKM = Range(0, 10_000, "g CO2/t-km")
T_PER_TEU = Range(0, 40, "t/TEU", low_open=True)
VALUE_USD_PER_T = Range(0, 1e8, "USD/t", low_open=True)
#: Share of its length an alternative route may run on a better route's links (default).
MAX_SHARED = 0.6
#: A reading of a freight-rate index (USD per container, per tonne, ...).
INDEX_VALUE = Range(0, 1e6, low_open=True)
YEAR = Range(1900, 2100)
FACTOR = Range(0, 1_000, low_open=True)
SCALE_FACTOR = Range(0, 1_000)
COMBINED_FACTOR = Range(1e-6, 1e6)
INVESTMENT_USD = Range(0, 1e13, "USD")
DURATION_DAYS = Range(0, 366, "days", low_open=True)
BUILD_YEARS = Range(0, 30, "years")
LIFE_YEARS = Range(1, 100, "years")
DISCOUNT_RATE = Range(0, 0.5)

RANGES: dict[str, Range] = {
    "length_km": LENGTH_KM,
    "lon": LONGITUDE,
    "lat": LATITUDE,
    "t_per_year, capacity_t_per_year": TONNES_PER_YEAR,
    "capacity_teu_per_year": TEU_PER_YEAR,
    "time_days, border_days, border_delay_days, wait_days": DAYS,
    "tariff_usd_per_t, cost_usd_per_t": USD_PER_T,
    "tariff_usd_per_tkm": USD_PER_TKM,
    "speed_km_per_day": SPEED_KM_PER_DAY,
    "co2_g_per_tkm": CO2_G_PER_TKM,
    "t_per_teu": T_PER_TEU,
    "value_usd_per_t": VALUE_USD_PER_T,
    "value (market.csv)": INDEX_VALUE,
    "year, status_year, opening_year": YEAR,
    "factor (multiply_cost, multiply_time)": FACTOR,
    "factor (scale_capacity, demand)": SCALE_FACTOR,
    "cost and time factors after all changes": COMBINED_FACTOR,
    "investment_usd, capex_usd, opex_usd_per_year, amount, amount_usd": INVESTMENT_USD,
    "build_years (ledger)": BUILD_YEARS,
    "life_years (ledger)": LIFE_YEARS,
    "discount rate (appraise, invest)": DISCOUNT_RATE,
    "capacity_t (storage)": TONNES,
    "duration_days (dated scenario changes)": DURATION_DAYS,
}

#: Command-line and API options (inclusive integer bounds).
ALTERNATIVES = (1, 20)
CRITICAL_TOP = (0, 1_000)
WORKERS = (1, 64)
PORT = (1, 65_535)
