"""What-if scenarios: TOML files that close, open, add or rescale parts of the network and demand.

A scenario is read and checked for structure by :func:`load_scenario` (unknown keys, bad
factors, missing assumptions) and checked against a network by :func:`apply_scenario` (unknown
link, node, corridor or country ids, with "did you mean"). Every error is a
:class:`~corridor.errors.DataError` naming the file and the key (``close[2].link``). The schema
is documented in ``docs/flows.md``.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import pandas as pd

from corridor import limits
from corridor import scenario_schema as schema
from corridor.errors import DataError, did_you_mean
from corridor.limits import Range
from corridor.network import LINK_COLUMNS, MODES, NODE_COLUMNS, Network
from corridor.tables import ISO3, split_list

#: Order in which the actions of one scenario file are applied (parents first).
ACTION_KINDS = tuple(schema.ACTIONS)
_TEXT = schema.TEXT_KEYS
#: Keys that put a change in force for part of the year only (any kind of change).
_TIMING = schema.TIMING_KEYS
#: How a scenario may cut its year (``periods = "month"``).
PERIOD_KINDS = ("month",)
_LINK_FIELDS = {c.name: c for c in LINK_COLUMNS}
_NODE_FIELDS = {c.name: c for c in NODE_COLUMNS}
#: The capacities a scale_capacity change sets or scales, with their allowed ranges.
_CAPACITIES = {"capacity_t_per_year": limits.TONNES_PER_YEAR,
               "capacity_teu_per_year": limits.TEU_PER_YEAR}
_DEMAND_FILTERS = ("origin", "destination", "commodity", "origin_country",
                   "destination_country")
_DEMAND_ROW = ("origin", "destination", "commodity", "t_per_year", "year", "allowed_modes",
               "avoid_countries", "source_id", "estimated", "estimate_method", "notes")


@dataclass(frozen=True)
class Action:
    """One change of a scenario (one table of a ``[[kind]]`` array).

    Attributes
    ----------
    kind
        One of :data:`ACTION_KINDS`.
    params
        The table's keys other than ``assumption`` and ``source``.
    assumption, source
        Why the change is made and where its numbers come from.
    file, key
        Where it was written (``key`` like ``close[2]``), for error messages.
    start, duration_days
        An event: in force from ``start`` for ``duration_days`` days (both or neither).
    months
        A season: in force in these months (1-12) of every year.
    """

    kind: str
    params: dict
    assumption: str
    source: str
    file: str
    key: str
    start: dt.date | None = None
    duration_days: float | None = None
    months: tuple[int, ...] = ()

    @property
    def dated(self) -> bool:
        """In force for part of the year only (an event or a season)."""
        return self.start is not None or bool(self.months)

    @property
    def end(self) -> dt.date | None:
        """The first day the event is over (``start + duration_days``, rounded up)."""
        if self.start is None or self.duration_days is None:
            return None
        return self.start + dt.timedelta(days=-(-self.duration_days // 1))

    def to_dict(self) -> dict:
        timing: dict = {}
        if self.start is not None:
            timing = {"start": self.start.isoformat(), "duration_days": self.duration_days}
        elif self.months:
            timing = {"months": list(self.months)}
        return {"kind": self.kind, **self.params, **timing, "assumption": self.assumption,
                "source": self.source, "key": self.key}


@dataclass
class Scenario:
    """A scenario file, with the scenario it inherits from.

    Attributes
    ----------
    name
        Identifier (the file name without ``.toml`` unless ``name`` is set).
    title, description
        Human text; the description states the scenario's overall assumption.
    actions
        The file's own changes, in application order.
    parent
        The scenario named by ``inherits`` (its changes apply first).
    sources
        Extra sources the file cites (``[[sources]]``: ``source_id, title, publisher, url,
        year, used_for``).
    """

    name: str
    title: str = ""
    description: str = ""
    file: str | None = None
    actions: list[Action] = field(default_factory=list)
    parent: Scenario | None = None
    sources: list[dict] = field(default_factory=list)
    year: int | None = None
    periods: str | None = None

    @property
    def inherits(self) -> str | None:
        return self.parent.name if self.parent else None

    @property
    def is_periodic(self) -> bool:
        """Solved period by period: ``periods`` is set here or in a parent, or a change is
        dated."""
        own = self.periods is not None or any(a.dated for a in self.actions)
        return own or (self.parent.is_periodic if self.parent else False)

    @property
    def calendar_year(self) -> int | None:
        """The year the periods cover: ``year`` of this file or the nearest parent."""
        if self.year is not None:
            return self.year
        return self.parent.calendar_year if self.parent else None

    def all_actions(self) -> list[Action]:
        """Every change to apply: the parents' first, then this file's."""
        return (self.parent.all_actions() if self.parent else []) + list(self.actions)

    def files(self) -> list[Path]:
        """The files this scenario and the ones it inherits from were read from."""
        own = [Path(self.file)] if self.file and Path(self.file).is_file() else []
        return own + (self.parent.files() if self.parent else [])

    def all_sources(self) -> list[dict]:
        return (self.parent.all_sources() if self.parent else []) + list(self.sources)

    def to_dict(self) -> dict:
        return {"name": self.name, "title": self.title, "description": self.description,
                "file": self.file, "inherits": self.inherits, "year": self.year,
                "periods": self.periods,
                "actions": [a.to_dict() for a in self.all_actions()],
                "sources": self.all_sources()}


def scenario_folder() -> Path:
    """The folder of the built-in scenarios."""
    return Path(str(resources.files("corridor") / "data" / "scenarios"))


def list_scenarios(folder: str | Path | None = None) -> list[Scenario]:
    """The scenarios of a folder (default: the built-ins), sorted by name.

    Parameters
    ----------
    folder
        A folder of ``*.toml`` files.

    Returns
    -------
    list[Scenario]
    """
    base = Path(folder) if folder is not None else scenario_folder()
    return [load_scenario(path) for path in sorted(base.glob("*.toml"))]


def load_scenario(name_or_path: str | Path) -> Scenario:
    """Read a scenario by built-in name or TOML path and check its structure.

    Parameters
    ----------
    name_or_path
        ``"cpc-outage"`` (a file of :func:`scenario_folder`) or a path to a ``.toml`` file.
        ``inherits = "x"`` names a file beside it, or a built-in.

    Returns
    -------
    Scenario

    Raises
    ------
    DataError
        Unknown scenario, unparseable TOML, unknown key, missing or bad value; the error names
        the file and the key.
    """
    return _load(_locate(name_or_path, None), ())


def _locate(name_or_path: str | Path, near: Path | None) -> Path:
    text = str(name_or_path)
    path = Path(text)
    try:
        if path.suffix == ".toml" or path.exists():
            if not path.is_file():
                raise DataError("scenario file not found", file=text[:200])
            return path
        for folder in ([near] if near else []) + [scenario_folder()]:
            candidate = folder / f"{text}.toml"
            if candidate.is_file():
                return candidate
    except OSError as exc:  # a name the file system refuses (too long, bad characters)
        raise DataError(f"not a usable scenario name or path ({exc.strerror or exc})",
                        file=text[:200]) from None
    known = sorted(p.stem for p in scenario_folder().glob("*.toml"))
    raise DataError(f"unknown scenario {text!r}{did_you_mean(text, known)} (built-ins: "
                    f"{', '.join(known)})")


def parse_scenario(data: dict, label: str = "request body",
                   folder: Path | None = None) -> Scenario:
    """Check a scenario given as data in the structure of the TOML files (e.g. posted JSON).

    Parameters
    ----------
    data
        What ``tomllib`` would return for a scenario file.
    label
        How errors name the input (in place of a file name).
    folder
        Where ``inherits`` names are looked up first (then the built-ins).

    Raises
    ------
    DataError
        As :func:`load_scenario`, naming ``label`` and the key.
    """
    return _build(data, label, folder, "posted", ())


def _load(path: Path, seen: tuple[Path, ...]) -> Scenario:
    label = str(path)
    if path.resolve() in seen:
        chain = " -> ".join(p.stem for p in seen + (path.resolve(),))
        raise DataError(f"scenarios inherit from each other in a cycle ({chain})", file=label,
                        field="inherits")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise DataError(f"invalid TOML: {exc}", file=label) from None
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[:exc.start].count(b"\n") + 1
        raise DataError(f"not UTF-8 text (byte 0x{exc.object[exc.start]:02x} on line {line})",
                        file=label) from None
    except OSError as exc:
        raise DataError(f"cannot read the file ({exc.strerror or exc})", file=label) from None
    return _build(data, label, path.parent, path.stem, seen + (path.resolve(),))


def _build(data: dict, label: str, near: Path | None, stem: str,
           seen: tuple[Path, ...]) -> Scenario:
    check_keys(data, schema.TOP_KEYS, label, "")
    for key in ("name", "title", "description", "inherits"):
        if key in data and not isinstance(data[key], str):
            raise DataError("must be a text string", file=label, field=key)
    year = data.get("year")
    if year is not None:
        year = _year(year, label, "year")
    periods = data.get("periods")
    if periods is not None and periods not in PERIOD_KINDS:
        raise DataError(f"must be one of {', '.join(map(repr, PERIOD_KINDS))}, got "
                        f"{periods!r}", file=label, field="periods")
    parent = None
    if data.get("inherits"):
        parent = _load(_locate(data["inherits"], near), seen)
    actions = []
    for kind in ACTION_KINDS:
        for i, table in enumerate(array_of_tables(data, kind, label), start=1):
            actions.append(_action(kind, table, label, f"{kind}[{i}]"))
    sources = []
    allowed_source = tuple(schema.Source.model_fields)
    for i, table in enumerate(array_of_tables(data, "sources", label), start=1):
        key = f"sources[{i}]"
        check_keys(table, allowed_source, label, key)
        for name in ("source_id", "title"):
            if not str(table.get(name, "")).strip():
                raise DataError("value is missing", file=label, field=f"{key}.{name}")
        sources.append({k: str(table.get(k, "")) for k in allowed_source})
    schema.validate(data, label)  # the checks above and the published schema agree
    return Scenario(name=data.get("name") or stem, title=data.get("title", ""),
                    description=data.get("description", ""), file=label, actions=actions,
                    parent=parent, sources=sources, year=year, periods=periods)


def array_of_tables(data: dict, kind: str, label: str) -> list[dict]:
    """``data[kind]`` as a list of tables (``[[kind]]``); a single table counts as one."""
    value = data.get(kind, [])
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise DataError(f"must be an array of tables ([[{kind}]])", file=label, field=kind)
    return value


def check_keys(table: dict, allowed: tuple[str, ...], label: str, prefix: str) -> None:
    """Refuse a key not in ``allowed``, naming the file, the key and the closest allowed one."""
    for key in table:
        if key not in allowed:
            where = f"{prefix}.{key}" if prefix else key
            raise DataError(f"unknown key {key!r}{did_you_mean(str(key), allowed, n=1)} "
                            f"(allowed: {', '.join(allowed)})", file=label, field=where)


def _number(table: dict, name: str, label: str, key: str, allowed: Range) -> float:
    """A number of an action, finite and within ``allowed`` (the message names the unit)."""
    value = table.get(name)
    problem = allowed.problem(value)
    if problem:
        raise DataError(problem, file=label, field=f"{key}.{name}")
    return float(value)  # type: ignore[arg-type]


def _year(value: object, label: str, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or limits.YEAR.problem(value):
        shown = repr(value) if len(repr(value)) <= 24 else repr(value)[:10] + "…"
        raise DataError(f"must be a year ({limits.YEAR.describe()}), got {shown}", file=label,
                        field=where)
    return value


def _names(value: object, label: str, where: str) -> list[str]:
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(v, str) and v.strip() for v in items):
        raise DataError("must be an id or a list of ids", file=label, field=where)
    return [v.strip() for v in items]


def _action(kind: str, table: dict, label: str, key: str) -> Action:
    text = {name: table.get(name, "") for name in _TEXT}
    for name, value in text.items():
        if not isinstance(value, str):
            raise DataError("must be a text string", file=label, field=f"{key}.{name}")
    if not text["assumption"].strip():
        raise DataError("every change needs an 'assumption' (why, and what the numbers are)",
                        file=label, field=f"{key}.assumption")
    timing = _timing({k: table[k] for k in _TIMING if k in table}, label, key)
    params = {k: v for k, v in table.items() if k not in _TEXT + _TIMING}
    if schema.selectors(kind):
        _selection_params(kind, params, label, key)
    elif kind == "add_node":
        _add_node_params(params, label, key)
    elif kind == "add_link":
        _add_link_params(params, label, key)
    elif kind == "demand":
        _demand_params(params, label, key)
    return Action(kind, params, text["assumption"].strip(), text["source"].strip(), label, key,
                  **timing)


def _selection_params(kind: str, params: dict, label: str, key: str) -> None:
    """Check (in place) a change that selects links: one selector and its numbers."""
    check_keys(params, schema.keys(kind), label, key)
    choices = schema.selectors(kind)
    chosen = [s for s in choices if s in params]
    if len(chosen) != 1:
        raise DataError(f"give exactly one of {', '.join(choices)}", file=label, field=key)
    params[chosen[0]] = _names(params[chosen[0]], label, f"{key}.{chosen[0]}")
    if kind == "scale_capacity":
        absolute = [c for c in _CAPACITIES if c in params]
        if ("factor" in params) == bool(absolute):
            raise DataError("give either factor or a capacity to set (capacity_t_per_year, "
                            "capacity_teu_per_year or both)", file=label, field=key)
        if "factor" in params:
            params["factor"] = _number(params, "factor", label, key, limits.SCALE_FACTOR)
        for column in absolute:
            params[column] = _number(params, column, label, key, _CAPACITIES[column])
    elif kind in ("multiply_cost", "multiply_time"):
        params["factor"] = _number(params, "factor", label, key, limits.FACTOR)


def _add_node_params(params: dict, label: str, key: str) -> None:
    """Check (in place) an added node: a full node.csv row."""
    check_keys(params, schema.keys("add_node"), label, key)
    for name in (c.name for c in NODE_COLUMNS if c.required):
        if name not in params or params[name] in ("", None):
            raise DataError("value is missing", file=label, field=f"{key}.{name}")
    params.update(_row_values(params, _NODE_FIELDS, label, key))


def _add_link_params(params: dict, label: str, key: str) -> None:
    """Check (in place) an added link: a full link.csv row and its investment."""
    check_keys(params, schema.keys("add_link"), label, key)
    for name in ("link_id", "from_node_id", "to_node_id", "directed", "mode", "length_km",
                 "source_id"):
        if name not in params or params[name] in ("", None):
            raise DataError("value is missing", file=label, field=f"{key}.{name}")
    if "investment_usd" in params:
        params["investment_usd"] = _number(params, "investment_usd", label, key,
                                           limits.INVESTMENT_USD)
    params.update(_link_values(params, label, key))


def _demand_params(params: dict, label: str, key: str) -> None:
    """Check (in place) a demand change: a factor on matching rows, or a row to add."""
    check_keys(params, schema.keys("demand"), label, key)
    if ("factor" in params) == ("t_per_year" in params):
        raise DataError("give either factor (scale matching rows) or t_per_year (add a row)",
                        file=label, field=key)
    if "factor" in params:
        params["factor"] = _number(params, "factor", label, key, limits.SCALE_FACTOR)
        bad = [k for k in params if k not in ("factor",) + _DEMAND_FILTERS]
        if bad:
            raise DataError(f"{bad[0]!r} only goes with t_per_year (adding a row)",
                            file=label, field=f"{key}.{bad[0]}")
        return
    for name in ("origin", "destination", "commodity"):
        if not isinstance(params.get(name), str) or not params[name]:
            raise DataError("value is missing", file=label, field=f"{key}.{name}")
    params["t_per_year"] = _number(params, "t_per_year", label, key, limits.TONNES_PER_YEAR)
    bad = [k for k in params if k in ("origin_country", "destination_country")]
    if bad:
        raise DataError(f"{bad[0]!r} only goes with factor", file=label,
                        field=f"{key}.{bad[0]}")
    if params.get("year") is not None:
        params["year"] = _year(params["year"], label, f"{key}.year")
    for name in ("allowed_modes", "avoid_countries", "source_id", "estimated",
                 "estimate_method", "notes"):
        if name in params and not isinstance(params[name], str):
            raise DataError("must be a text string", file=label, field=f"{key}.{name}")


def _timing(table: dict, label: str, key: str) -> dict:
    """``start`` + ``duration_days`` (an event) or ``months`` (a season), checked."""
    if not table:
        return {}
    if "months" in table:
        if "start" in table or "duration_days" in table:
            raise DataError("give either start and duration_days (an event) or months (a "
                            "season)", file=label, field=f"{key}.months")
        months = table["months"]
        if (not isinstance(months, list) or not months
                or not all(isinstance(m, int) and not isinstance(m, bool) and 1 <= m <= 12
                           for m in months)):
            raise DataError("must be a list of month numbers 1-12, e.g. [12, 1, 2]",
                            file=label, field=f"{key}.months")
        return {"months": tuple(sorted(set(months)))}
    for name in ("start", "duration_days"):
        if name not in table:
            raise DataError(f"an event needs both start and duration_days; {name} is missing",
                            file=label, field=f"{key}.{name}")
    start = table["start"]
    if isinstance(start, str):
        try:
            start = dt.date.fromisoformat(start.strip())
        except ValueError:
            start = None
    if isinstance(start, dt.datetime):
        start = start.date()
    if not isinstance(start, dt.date):
        raise DataError(f"must be a date like 2025-02-17, got {table['start']!r}", file=label,
                        field=f"{key}.start")
    duration = _number(table, "duration_days", label, key, limits.DURATION_DAYS)
    return {"start": start, "duration_days": duration}


def _link_values(params: dict, label: str, key: str) -> dict:
    """Check the fields of an added link with the same rules as ``link.csv``."""
    out = _row_values(params, _LINK_FIELDS, label, key)
    mode, gauge = out.get("mode"), out.get("gauge_mm")
    if mode == "rail" and gauge is None:
        raise DataError("rail links need gauge_mm", file=label, field=f"{key}.gauge_mm")
    if mode != "rail" and gauge is not None:
        raise DataError("gauge_mm is only allowed on rail links", file=label,
                        field=f"{key}.gauge_mm")
    return out


def _row_values(params: dict, columns: dict, label: str, key: str) -> dict:
    """Check the fields of an added row with the rules of its table's columns."""
    out = {}
    for name, value in params.items():
        column = columns.get(name)
        if column is None or value in ("", None):
            continue
        where = f"{key}.{name}"
        if column.kind == "float":
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise DataError(f"{value!r} is not a valid number", file=label, field=where)
            value = float(value)
        elif column.kind == "int":
            if isinstance(value, bool) or not isinstance(value, int):
                raise DataError(f"{value!r} is not a valid integer", file=label, field=where)
        elif column.kind == "bool":
            if value not in (True, False, 0, 1):
                raise DataError(f"{value!r} is not true/false", file=label, field=where)
            value = bool(value)
        elif not isinstance(value, str):
            raise DataError(f"{value!r} must be text", file=label, field=where)
        problem = column.allowed.problem(value) if column.allowed is not None else None
        if problem is None and column.check is not None:
            problem = column.check(value)
        if problem:
            raise DataError(problem, file=label, field=where)
        out[name] = value
    return out


# -- applying ------------------------------------------------------------------------------------


def as_scenario(scenario: object) -> Scenario | None:
    """``None``, a :class:`Scenario`, or a built-in name or TOML path, as a Scenario."""
    if scenario is None or isinstance(scenario, Scenario):
        return scenario
    return load_scenario(str(scenario))


def scenario_inputs(network: Network, demand: pd.DataFrame,
                    scenario: object = None) -> tuple[Network, pd.DataFrame, str]:
    """The network, demand and name a model runs on under ``scenario``.

    ``None`` keeps them as given (named ``baseline``); a :class:`Scenario`, built-in name or
    TOML path is applied to copies (:func:`apply_scenario`).
    """
    if scenario is None:
        return network, demand, "baseline"
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(str(scenario))
    network, demand = apply_scenario(network, scenario, demand)
    return network, demand, scenario.name


def apply_scenario(network: Network, scenario: Scenario | str | Path,
                   demand: pd.DataFrame,
                   in_force: Collection[int] | None = None) -> tuple[Network, pd.DataFrame]:
    """Apply a scenario to copies of a network and a demand table.

    Closed links get ``status = "closed"`` (kept in the table, so their zero flow shows);
    ``multiply_cost``/``multiply_time`` set the ``cost_factor``/``time_factor`` columns that
    :func:`corridor.graph.compile_graph` reads; added links carry ``investment_usd``.

    Parameters
    ----------
    network
        The network; never modified.
    scenario
        A :class:`Scenario`, or a built-in name or TOML path.
    demand
        A demand table; never modified.
    in_force
        Positions (in :meth:`Scenario.all_actions`) of the dated changes to apply: the ones in
        force in one period. ``None`` applies every change, dated or not (the network while
        every event lasts).

    Returns
    -------
    tuple[Network, pandas.DataFrame]
        The modified copies.

    Raises
    ------
    DataError
        An id the network does not know (with close matches), a selection that matches no
        link, an added link that clashes; the error names the scenario file and key.
    """
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    sources = network.sources
    extra = scenario.all_sources()
    if extra:
        added = pd.DataFrame(extra).drop_duplicates("source_id").set_index("source_id")
        sources = pd.concat([sources, added[~added.index.isin(sources.index)]])
    else:
        sources = sources.copy()
    edit = _Edit(links=network.links.copy(), nodes=network.nodes.copy(),
                 demand=demand.copy(), network=network, sources=sources,
                 notes=list(network.warnings))
    for position, action in enumerate(scenario.all_actions()):
        if action.dated and in_force is not None and position not in in_force:
            continue
        _APPLY[action.kind](action, edit)
    new = Network(nodes=edit.nodes, links=edit.links, sources=sources, costs=network.costs,
                  path=network.path, warnings=edit.notes, terminals=network.terminals,
                  contracts=network.contracts, storage=network.storage,
                  place_names=network.place_names, passages=network.passages)
    return new, edit.demand


def _fail(action: Action, field_name: str, message: str) -> DataError:
    where = f"{action.key}.{field_name}" if field_name else action.key
    return DataError(message, file=action.file, field=where)


def _unknown(kind: str, value: str, known: list[str]) -> str:
    return f"unknown {kind} {value!r}{did_you_mean(value, known, cutoff=0.5)}"


def _select(action: Action, links: pd.DataFrame, nodes: pd.DataFrame,
            network: Network | None = None) -> pd.Series:
    """Boolean mask of the links an action's selector names (a ``passage`` needs the
    ``network`` whose passages it names)."""
    selector = next(s for s in ("link", "node", "corridor", "country", "mode", "passage")
                    if s in action.params)
    values = action.params[selector]
    mask = pd.Series(False, index=links.index)
    for value in values:
        if selector == "link":
            if value not in links.index:
                raise _fail(action, selector, _unknown("link id", value, list(links.index)))
            mask[value] = True
        elif selector == "node":
            if value not in nodes.index:
                raise _fail(action, selector, _unknown("node id", value, list(nodes.index)))
            mask |= (links["from_node_id"] == value) | (links["to_node_id"] == value)
        elif selector == "corridor":
            tags = links["corridor"].fillna("").str.split(";")
            known = sorted({t.strip() for ts in tags for t in ts if t.strip()})
            if value not in known:
                raise _fail(action, selector, _unknown("corridor", value, known))
            # a link may carry several tags ("Northern;Middle"): it belongs to each
            mask |= tags.map(lambda ts, v=value: v in [t.strip() for t in ts])
        elif selector == "country":
            if value not in ISO3:
                raise _fail(action, selector, f"{value!r} is not an ISO 3166 alpha-3 code")
            mask |= touches_country(links, nodes, value)
        elif selector == "mode":
            if value not in MODES:
                raise _fail(action, selector, _unknown("mode", value, list(MODES)))
            mask |= links["mode"] == value
        elif selector == "passage":
            index = network.passage_index() if network is not None else None
            if index is None or value not in index.table.index:
                known = index.ids if index is not None else []
                raise _fail(action, selector, _unknown("passage", value, known))
            mask |= links.index.isin(network.links.index[index.link_rows[value]])
            places = network.nodes.index[index.node_rows[value]]
            mask |= links["from_node_id"].isin(places) | links["to_node_id"].isin(places)
    if not mask.any():
        raise _fail(action, selector, f"{', '.join(values)} matches no link of the network")
    return mask


def touches_country(links: pd.DataFrame, nodes: pd.DataFrame, code: str) -> pd.Series:
    """Links that lie in ``code`` or have an end in it (a closed country closes them all)."""
    node_in = nodes["country"].map(lambda c: code in c.split(";"))
    in_link = links["country"].map(lambda c: code in (c or "").split(";"))
    return (in_link | links["from_node_id"].map(node_in).fillna(False).astype(bool)
            | links["to_node_id"].map(node_in).fillna(False).astype(bool))


@dataclass
class _Edit:
    """What a scenario's changes edit, copies of the network's tables and of the demand."""

    links: pd.DataFrame
    nodes: pd.DataFrame
    demand: pd.DataFrame
    network: Network
    sources: pd.DataFrame
    notes: list[str]


def _close(action: Action, edit: _Edit) -> None:
    mask = _select(action, edit.links, edit.nodes, edit.network)
    edit.links.loc[mask, "status"] = "closed"


def _open(action: Action, edit: _Edit) -> None:
    links = edit.links
    mask = _select(action, links, edit.nodes)
    links.loc[mask & (links["status"] != "operating"), "status"] = "operating"


def _scale_capacity(action: Action, edit: _Edit) -> None:
    links = edit.links
    mask = _select(action, links, edit.nodes)
    absolute = [c for c in _CAPACITIES if c in action.params]
    for column in absolute:
        links.loc[mask, column] = action.params[column]
    if absolute:
        return
    capacity = links[list(_CAPACITIES)].astype(float)
    known = capacity.notna() & mask.to_numpy()[:, None]
    if not known.to_numpy().any():
        raise _fail(action, "factor", "the selected links have no capacity (they are "
                    "unlimited); set capacity_t_per_year or capacity_teu_per_year instead of a "
                    "factor")
    skipped = links.index[mask & ~known.any(axis=1)]
    if len(skipped):
        edit.notes.append(f"{action.file} {action.key}: no capacity to scale on "
                          f"{', '.join(skipped)} (unlimited)")
    for column in _CAPACITIES:
        rows = known[column]
        links.loc[rows, column] = capacity.loc[rows, column] * action.params["factor"]
        _check_combined(action, links.loc[rows, column], _CAPACITIES[column], column)


def _check_combined(action: Action, values: pd.Series, allowed: Range, what: str) -> None:
    """Changes compound (a factor applied again by a child scenario): keep the result in range."""
    for index, value in values.items():
        if allowed.problem(float(value)):
            raise _fail(action, "factor", f"with the changes before it, {what} of {index} "
                        f"becomes {float(value):g}, outside the allowed range "
                        f"{allowed.describe()}")


def _multiply(column: str) -> Callable[[Action, _Edit], None]:
    def apply(action: Action, edit: _Edit) -> None:
        links = edit.links
        mask = _select(action, links, edit.nodes, edit.network)
        if column not in links:
            links[column] = 1.0
        links[column] = links[column].astype(float).fillna(1.0)
        links.loc[mask, column] *= action.params["factor"]
        _check_combined(action, links.loc[mask, column], limits.COMBINED_FACTOR, column)

    return apply


def _add_node(action: Action, edit: _Edit) -> None:
    row = dict(action.params)
    node_id = row.pop("node_id")
    if node_id in edit.nodes.index:
        raise _fail(action, "node_id", f"node id {node_id!r} already exists")
    for source in split_list(str(row["source_id"]), ";"):
        if source not in edit.sources.index:
            raise _fail(action, "source_id", _unknown("source id", source,
                                                      list(edit.sources.index)) +
                        " (declare it in [[sources]])")
    full = {**{c: "" for c in edit.nodes.columns}, "notes": action.assumption, **row}
    new = pd.DataFrame([full], index=pd.Index([node_id], name=edit.nodes.index.name))
    edit.nodes = pd.concat([edit.nodes, new.reindex(columns=edit.nodes.columns)])
    for column in ("lon", "lat"):
        edit.nodes[column] = edit.nodes[column].astype(float)


def _add_link(action: Action, edit: _Edit) -> None:
    links, nodes, sources = edit.links, edit.nodes, edit.sources
    row = dict(action.params)
    link_id = row.pop("link_id")
    if link_id in links.index:
        raise _fail(action, "link_id", f"link id {link_id!r} already exists")
    for end in ("from_node_id", "to_node_id"):
        if row[end] not in nodes.index:
            raise _fail(action, end, _unknown("node id", row[end], list(nodes.index)))
    if row["from_node_id"] == row["to_node_id"]:
        raise _fail(action, "to_node_id", "link starts and ends at the same node")
    for source in str(row["source_id"]).split(";"):
        if source.strip() and source.strip() not in sources.index:
            raise _fail(action, "source_id", _unknown("source id", source.strip(),
                                                      list(sources.index)) +
                        " (declare it in [[sources]])")
    defaults = {"status": "operating", "country": "", "corridor": "", "estimated": "",
                "estimate_method": "", "notes": action.assumption, "length_method": "",
                "geometry": ""}
    full = {**defaults, **row}
    if "investment_usd" not in links:
        links = links.assign(investment_usd=float("nan"))
    for column in ("cost_factor", "time_factor"):
        if column in links:
            full.setdefault(column, 1.0)
    new = pd.DataFrame([full], index=pd.Index([link_id], name=links.index.name))
    merged = pd.concat([links, new.reindex(columns=links.columns)])
    merged["gauge_mm"] = pd.to_numeric(merged["gauge_mm"]).astype("Int64")
    merged["directed"] = merged["directed"].astype(bool)
    for column in ("corridor", "country", "status"):
        merged[column] = merged[column].fillna("").astype(str)
    edit.links = merged


def _demand(action: Action, edit: _Edit) -> None:
    table, nodes, network = edit.demand, edit.nodes, edit.network
    params = action.params
    if "factor" in params:
        mask = pd.Series(True, index=table.index)
        for name in ("origin", "destination", "commodity"):
            if name in params:
                values = _names(params[name], action.file, f"{action.key}.{name}")
                mask &= table[name].isin(values)
        for name, end in (("origin_country", "origin"), ("destination_country", "destination")):
            if name in params:
                codes = _names(params[name], action.file, f"{action.key}.{name}")
                country = table[end].map(nodes["country"])
                mask &= country.map(lambda c, codes=codes: bool(set(str(c).split(";"))
                                                                & set(codes)))
        if not mask.any():
            raise _fail(action, "", "the filters match no demand row")
        table.loc[mask, "t_per_year"] = table.loc[mask, "t_per_year"] * params["factor"]
        _check_combined(action, table.loc[mask, "t_per_year"].rename(
            lambda i: f"demand row {i + 1}"), limits.TONNES_PER_YEAR, "t_per_year")
        return
    for end in ("origin", "destination"):
        if params[end] not in nodes.index:
            raise _fail(action, end, _unknown("node id", params[end], list(nodes.index)))
    if params["commodity"] not in network.costs.commodities.index:
        raise _fail(action, "commodity", _unknown("commodity", params["commodity"],
                                                  list(network.costs.commodities.index)))
    if params["origin"] == params["destination"]:
        raise _fail(action, "destination", "origin and destination are the same node")
    try:
        allowed_modes = network.costs.restrict_modes(params["commodity"],
                                                     params.get("allowed_modes") or "")
    except ValueError as exc:
        raise _fail(action, "allowed_modes", str(exc)) from None
    row = {name: params.get(name, "") for name in _DEMAND_ROW}
    row["t_per_year"] = float(params["t_per_year"])
    row["year"] = params.get("year")
    row["allowed_modes"] = allowed_modes
    avoid = [c.strip().upper() for c in str(params.get("avoid_countries") or "").split(";")
             if c.strip()]
    bad = [c for c in avoid if c not in ISO3]
    if bad:
        raise _fail(action, "avoid_countries", f"{bad[0]!r} is not an ISO 3166 alpha-3 code")
    row["avoid_countries"] = ";".join(sorted(set(avoid)))
    # source_id must stay an id; the free-text source goes into the notes with the assumption
    row["source_id"] = params.get("source_id") or ""
    row["notes"] = params.get("notes") or "; ".join(
        t for t in (action.assumption, f"source: {action.source}" if action.source else "") if t)
    added = pd.DataFrame([row])
    for column in table.columns:
        if column not in added:
            added[column] = None
    table = pd.concat([table, added[table.columns]], ignore_index=True)
    if "year" in table:
        table["year"] = pd.to_numeric(table["year"]).astype("Int64")
    edit.demand = table


_APPLY = {"add_node": _add_node, "close": _close, "open": _open, "scale_capacity": _scale_capacity,
          "multiply_cost": _multiply("cost_factor"), "multiply_time": _multiply("time_factor"),
          "add_link": _add_link, "demand": _demand}
