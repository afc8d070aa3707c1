"""Partner profiles: how each republic depends on its partners, in four dimensions.

* **transit**: the share of its exported tonnes that crosses each foreign country, from an
  assignment (:func:`corridor.metrics.dependency`);
* **markets**: its trade (and, where published, exports and imports) by partner, from
  ``data/partners/shares.csv`` (national statistics as reported, with their sources);
* **labour**: its remittance inflows by source country, from the same table;
* **finance**: the signed or later investment agreements of the ledger by partner, in US
  dollars (agreements of one republic only: a package for several has no published split).

Published shares rarely cover every partner. For a dimension whose shares add up to less than
100 %, the HHI is given as a range: at least the sum of the squared known shares (the rest
spread over many small partners), at most that plus the square of the rest (the rest one
partner). With every share known the two are equal.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import pandas as pd

from corridor.errors import DataError
from corridor.ledger import STATUSES, Ledger
from corridor.tables import (
    PROVENANCE_COLUMNS,
    SOURCE_COLUMNS,
    Column,
    check_estimates,
    check_references,
    check_unique,
    one_of,
    read_table,
    split_list,
)

REPUBLICS = ("KAZ", "UZB", "TKM", "KGZ", "TJK")
DIMENSIONS = ("transit", "markets", "labour", "finance")
#: The published table's dimensions, and the profile dimension each belongs to.
SHARE_DIMENSIONS = {"trade": "markets", "exports": "markets", "imports": "markets",
                    "remittances": "labour"}

SHARE_COLUMNS = [
    Column("republic", required=True, check=one_of(REPUBLICS)),
    Column("dimension", required=True, check=one_of(tuple(SHARE_DIMENSIONS))),
    Column("partner", required=True),
    Column("share_pct", "float", required=True),
    Column("period", required=True),
    *PROVENANCE_COLUMNS,
    Column("notes"),
]


def partners_folder() -> Path:
    return Path(str(resources.files("corridor") / "data" / "partners"))


def load_shares(folder: str | Path | None = None) -> pd.DataFrame:
    """``shares.csv``: published shares by republic, dimension and partner, checked (a share is
    0-100 and the shares of one republic, dimension and period add up to 100 at most)."""
    root = Path(folder) if folder is not None else partners_folder()
    sources = read_table(root / "sources.csv", SOURCE_COLUMNS)
    check_unique(sources, "source_id", str(root / "sources.csv"))
    label = str(root / "shares.csv")
    table = read_table(root / "shares.csv", SHARE_COLUMNS)
    check_estimates(table, label)
    check_references(table, "source_id", set(sources["source_id"]), label, "source id")
    for row, value in enumerate(table["share_pct"], start=1):
        if not 0 <= value <= 100:
            raise DataError(f"{value} is not a share from 0 to 100 %", file=label, row=row,
                            field="share_pct")
    totals = table.groupby(["republic", "dimension", "period"])["share_pct"].sum()
    over = totals[totals > 100 + 1e-6]
    if len(over):
        (republic, dimension, period), value = next(iter(over.items()))
        raise DataError(f"the {dimension} shares of {republic} for {period} add up to "
                        f"{value:.1f} %", file=label, field="share_pct")
    return table


def hhi_range(shares_pct: list[float]) -> tuple[float, float, float]:
    """Coverage (%), and the least and the most HHI the known shares allow."""
    known = sum(shares_pct)
    low = sum(s * s for s in shares_pct)
    rest = max(0.0, 100.0 - known)
    return known, low, low + rest * rest


@dataclass
class Profiles:
    """Partner profiles of the five republics.

    Attributes
    ----------
    shares
        ``republic, dimension, detail, partner, share_pct, period, source_id``: every share the
        profile rests on (``detail`` names the published table: trade, exports, imports,
        remittances, transit, agreements).
    summary
        One row per republic, dimension and detail: coverage (%), ``hhi_low``,
        ``hhi_high``, the largest partner and its share; an empty coverage is a gap.
    """

    shares: pd.DataFrame
    summary: pd.DataFrame

    def region(self) -> pd.DataFrame:
        """The five republics side by side: per dimension, the largest partner and the HHI
        range of the most complete published table."""
        best = (self.summary.sort_values("coverage_pct", ascending=False)
                .groupby(["republic", "dimension"], as_index=False).first())
        return best.pivot_table(index="republic", columns="dimension",
                                values=["top_partner", "top_share_pct", "hhi_low",
                                        "hhi_high"], aggfunc="first")

    def to_dict(self) -> dict:
        return {"shares": self.shares.to_dict(orient="records"),
                "summary": self.summary.to_dict(orient="records")}


def profiles(shares: pd.DataFrame, ledger: Ledger | None = None,
             dependency: object = None) -> Profiles:
    """Build the profiles from published shares, the ledger (finance) and an assignment's
    :class:`~corridor.metrics.Dependency` (transit); either may be None."""
    rows = []
    for r in shares.itertuples(index=False):
        rows.append({"republic": r.republic, "dimension": SHARE_DIMENSIONS[r.dimension],
                     "detail": r.dimension, "partner": r.partner, "share_pct": r.share_pct,
                     "period": r.period, "source_id": r.source_id})
    if dependency is not None:
        transit = dependency.shares[dependency.shares["dimension"] == "transit"]
        for r in transit.itertuples(index=False):
            if r.exporter in REPUBLICS:
                rows.append({"republic": r.exporter, "dimension": "transit",
                             "detail": "transit", "partner": r.key,
                             "share_pct": float(r.use_share_pct), "period": "model year",
                             "source_id": "assignment"})
    if ledger is not None:
        rows += _finance_rows(ledger)
    table = pd.DataFrame(rows, columns=["republic", "dimension", "detail", "partner",
                                        "share_pct", "period", "source_id"])
    summary = []
    for republic in REPUBLICS:
        for dimension in DIMENSIONS:
            part = table[(table["republic"] == republic) & (table["dimension"] == dimension)]
            if part.empty:
                summary.append({"republic": republic, "dimension": dimension, "detail": "",
                                "period": "", "coverage_pct": 0.0, "hhi_low": float("nan"),
                                "hhi_high": float("nan"), "top_partner": "",
                                "top_share_pct": float("nan")})
                continue
            for (detail, period), group in part.groupby(["detail", "period"], sort=False):
                known, low, high = hhi_range(group["share_pct"].tolist())
                top = group.sort_values("share_pct", ascending=False).iloc[0]
                summary.append({"republic": republic, "dimension": dimension,
                                "detail": detail, "period": period,
                                "coverage_pct": round(known, 1), "hhi_low": low,
                                "hhi_high": high, "top_partner": top["partner"],
                                "top_share_pct": float(top["share_pct"])})
    return Profiles(table, pd.DataFrame(summary))


def _finance_rows(ledger: Ledger) -> list[dict]:
    """Each republic's signed (or later) single-republic agreements in USD, by partner."""
    deals = ledger.agreements
    signed = deals["status"].map(STATUSES.index) >= STATUSES.index("signed")
    deals = deals[signed & deals["amount_usd"].notna()]
    rows = []
    for republic in REPUBLICS:
        own = deals[deals["countries"] == republic]
        if own.empty:
            continue
        partner = own["partners"].map(
            lambda text: (split_list(str(text).split("(")[0], ";") or ["unnamed"])[0])
        amounts = own.groupby(partner)["amount_usd"].sum()
        total = float(amounts.sum())
        for name, amount in amounts.items():
            rows.append({"republic": republic, "dimension": "finance",
                         "detail": "agreements", "partner": name,
                         "share_pct": 100.0 * float(amount) / total,
                         "period": "2023-2025",
                         "source_id": ";".join(own.loc[partner == name, "source_id"])})
    return rows
