"""The ledger: infrastructure projects and investment agreements, sourced like the network.

A ledger folder holds

* ``projects.csv``: one row per project (a port, a line, a ferry fleet, a pipeline): partners,
  capital and running cost, when it opens, its status and what it needs or rules out;
* ``projects/<project_id>.toml``: the network change the project makes, as scenario actions
  (``[[add_link]]``, ``[[scale_capacity]]``, ``[[open]]`` …, see ``docs/flows.md``), for the
  projects whose places are in the network and that are not yet part of the baseline;
* ``agreements.csv``: deals signed or announced between the republics and their partners
  (amount, date, status, sector, the projects they finance);
* ``sources.csv``: the publications every figure comes from.

:func:`load_ledger` checks them as the network's tables are checked: a fault names the file,
the row and the field.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import pandas as pd

from corridor import limits
from corridor.errors import DataError, did_you_mean
from corridor.tables import (
    PROVENANCE_COLUMNS,
    SOURCE_COLUMNS,
    Column,
    check_estimates,
    check_references,
    check_unique,
    iso3_list,
    one_of,
    read_table,
    split_list,
)

#: How far a project or an agreement has come, in order.
STATUSES = ("announced", "signed", "financed", "building", "operating")
PROJECT_KINDS = ("port", "ferry", "rail", "road", "pipeline", "terminal")
SECTORS = ("transport", "energy", "mining", "industry", "agriculture", "finance", "other")

PROJECT_COLUMNS = [
    Column("project_id", required=True),
    Column("name", required=True),
    Column("kind", required=True, check=one_of(PROJECT_KINDS)),
    Column("countries", required=True, check=iso3_list),
    Column("partners"),
    Column("status", required=True, check=one_of(STATUSES)),
    Column("status_year", "int", allowed=limits.YEAR),
    Column("capex_usd", "float", allowed=limits.INVESTMENT_USD),
    Column("opex_usd_per_year", "float", allowed=limits.INVESTMENT_USD),
    Column("opening_year", "int", allowed=limits.YEAR),
    Column("build_years", "int", allowed=limits.BUILD_YEARS),
    Column("life_years", "int", allowed=limits.LIFE_YEARS),
    Column("requires"),
    Column("excludes"),
    Column("not_modelled"),
    *PROVENANCE_COLUMNS,
    Column("notes"),
]

AGREEMENT_COLUMNS = [
    Column("agreement_id", required=True),
    Column("title", required=True),
    Column("countries", required=True, check=iso3_list),
    Column("partners", required=True),
    Column("amount", "float", allowed=limits.INVESTMENT_USD),
    Column("currency"),
    Column("amount_usd", "float", allowed=limits.INVESTMENT_USD),
    Column("date", required=True),
    Column("status", required=True, check=one_of(STATUSES)),
    Column("sector", required=True, check=one_of(SECTORS)),
    Column("projects"),
    *PROVENANCE_COLUMNS,
    Column("notes"),
]


@dataclass(frozen=True)
class Ledger:
    """Projects, agreements and their sources.

    Attributes
    ----------
    projects
        ``projects.csv``, indexed by ``project_id``.
    agreements
        ``agreements.csv``, indexed by ``agreement_id``.
    sources
        ``sources.csv``, indexed by ``source_id``.
    folder
        Where the ledger was read from (the project changes are ``projects/<id>.toml``).
    """

    projects: pd.DataFrame
    agreements: pd.DataFrame
    sources: pd.DataFrame
    folder: Path

    def project_file(self, project_id: str) -> Path:
        """The scenario file of a project's network change (DataError when none is
        modelled: the project's places are not in the network, or it is already built)."""
        self.check_project(project_id)
        path = self.folder / "projects" / f"{project_id}.toml"
        if not path.is_file():
            reason = self.why_not_modelled(project_id) or (
                "its places are not in the network, or it already operates in the baseline")
            raise DataError(f"no network change is modelled for project {project_id!r} "
                            f"(projects/{project_id}.toml): {reason}",
                            file=str(self.folder / "projects.csv"), field="project_id")
        return path

    def why_not_modelled(self, project_id: str) -> str:
        """Why the project changes nothing in the network ("" when it is modelled, or the
        ledger gives no reason)."""
        if "not_modelled" not in self.projects or self.modelled(project_id):
            return ""
        value = self.projects.at[project_id, "not_modelled"]
        return "" if pd.isna(value) else str(value)

    def modelled(self, project_id: str) -> bool:
        """Whether the project has a network change (and can be appraised)."""
        return (self.folder / "projects" / f"{project_id}.toml").is_file()

    def check_project(self, project_id: str) -> str:
        """``project_id``, or a DataError naming the closest known ids."""
        if project_id not in self.projects.index:
            raise DataError(f"unknown project {project_id!r}"
                            f"{did_you_mean(project_id, list(self.projects.index))}",
                            file=str(self.folder / "projects.csv"), field="project_id")
        return project_id

    def scenario(self, project_id: str):  # noqa: ANN201  (a corridor.scenario.Scenario)
        """The project's network change as a scenario (checked like any scenario file)."""
        from corridor.scenario import load_scenario

        return load_scenario(self.project_file(project_id))

    def entries(self, kind: str | None = None, country: str | None = None,
                partner: str | None = None, status: str | None = None) -> pd.DataFrame:
        """Projects and agreements in one table, filtered: ``kind`` (``project`` or
        ``agreement``), a republic's ISO3 code, a partner (a substring, any case) and the
        lowest status to keep (``signed`` keeps signed, financed, building and operating)."""
        projects = self.projects.reset_index().rename(columns={"project_id": "id",
                                                                "name": "title"})
        projects = projects.assign(entry="project", amount_usd=projects["capex_usd"],
                                   year=projects["opening_year"],
                                   network=[("modelled" if self.modelled(p)
                                             else self.why_not_modelled(p) or "not modelled")
                                            for p in projects["id"]])
        agreements = self.agreements.reset_index().rename(columns={"agreement_id": "id"})
        agreements = agreements.assign(entry="agreement",
                                       year=agreements["date"].astype(str).str[:4],
                                       network="")
        columns = ["entry", "id", "title", "countries", "partners", "status", "amount_usd",
                   "year", "network", "source_id"]
        table = pd.concat([projects[columns], agreements[columns]], ignore_index=True)
        if kind is not None:
            table = table[table["entry"] == kind]
        if country is not None:
            code = country.strip().upper()
            table = table[table["countries"].map(lambda c: code in split_list(c, ";"))]
        if partner is not None:
            table = table[table["partners"].fillna("").str.lower().str.contains(
                partner.strip().lower(), regex=False)]
        if status is not None:
            table = table[table["status"].map(STATUSES.index) >= STATUSES.index(status)]
        return table.reset_index(drop=True)


def ledger_folder() -> Path:
    """The shipped ledger."""
    return Path(str(resources.files("corridor") / "data" / "ledger"))


def load_ledger(folder: str | Path | None = None) -> Ledger:
    """Read and check a ledger folder (default: the shipped one).

    Raises
    ------
    DataError
        Naming the file, the row and the field of the first fault: an unknown status or
        country code, a number out of range, an unknown source, a change file for a project
        that is not listed, a ``requires``/``excludes``/``projects`` id that is not a project.
    """
    root = Path(folder) if folder is not None else ledger_folder()
    if not root.is_dir():
        raise DataError("ledger folder not found", file=str(root))
    sources = read_table(root / "sources.csv", SOURCE_COLUMNS)
    check_unique(sources, "source_id", str(root / "sources.csv"))
    projects = read_table(root / "projects.csv", PROJECT_COLUMNS)
    agreements = read_table(root / "agreements.csv", AGREEMENT_COLUMNS)
    known = set(sources["source_id"])
    ids = set(projects["project_id"])
    for table, name, key in ((projects, "projects.csv", "project_id"),
                             (agreements, "agreements.csv", "agreement_id")):
        label = str(root / name)
        check_unique(table, key, label)
        check_estimates(table, label)
        check_references(table, "source_id", known, label, "source id")
    label = str(root / "projects.csv")
    for field in ("requires", "excludes"):
        check_references(projects, field, ids, label, "project id")
    check_references(agreements, "projects", ids, str(root / "agreements.csv"), "project id")
    extra = sorted(p.stem for p in (root / "projects").glob("*.toml") if p.stem not in ids) \
        if (root / "projects").is_dir() else []
    if extra:
        raise DataError(f"projects/{extra[0]}.toml changes the network for a project that "
                        "projects.csv does not list", file=label, field="project_id")
    if "not_modelled" in projects:
        changes = (root / "projects")
        for row, (project, reason) in enumerate(zip(projects["project_id"],
                                                    projects["not_modelled"], strict=True),
                                                start=1):
            modelled = (changes / f"{project}.toml").is_file()
            stated = isinstance(reason, str) and bool(reason.strip())
            if modelled and stated:
                raise DataError(f"project {project!r} has a network change "
                                f"(projects/{project}.toml) and a reason it is not modelled",
                                file=label, row=row, field="not_modelled")
            if not modelled and not stated:
                raise DataError(f"project {project!r} has no network change "
                                f"(projects/{project}.toml): say why in not_modelled",
                                file=label, row=row, field="not_modelled")
    for row, (requires, excludes) in enumerate(zip(projects["requires"], projects["excludes"],
                                                   strict=True), start=1):
        both = set(split_list(requires, ";")) & set(split_list(excludes, ";"))
        if both:
            raise DataError(f"{sorted(both)[0]!r} is both required and excluded", file=label,
                            row=row, field="excludes")
    return Ledger(projects.set_index("project_id"), agreements.set_index("agreement_id"),
                  sources.set_index("source_id"), root)
