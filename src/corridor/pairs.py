"""Combined failures: which two links, nodes or countries hurt most when they fail together.

Two elements that each have a way around can leave none when they fail at once (the CPC and
Russian transit, two parallel crossings). :func:`critical_pairs` ranks pairs by the damage of
a full re-solve with both closed, and prunes with bounds so that only pairs that could enter
the ranking are solved:

* **Damage** is the rise of what the assignment minimises (:class:`corridor.flow.FlowModel`):
  generalised cost plus stranded tonnes at the stranding penalty. Closing more can only raise
  it, so a pair does at least the damage of its worse element.
* **Upper bound.** The baseline's routes that touch either element can all be stranded and the
  rest kept: a feasible solution. Its damage, ``sum t_r (penalty_r - cost_r)`` over those
  routes ``r``, bounds the pair's damage from above. Both bounds come from one path
  decomposition and the single-element re-solves.
* Pairs are solved in descending order of their upper bound; once the bound falls below the
  ``top``-th damage found, no pair left can enter the ranking and the search stops.

The ranking also gives each pair's ``interaction_usd``: its damage minus the two elements'
own damages (positive when the pair is worse than the sum of its parts), the stranded tonnes
and their export value, and ``loss_usd`` as in :func:`corridor.critical.critical`.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import pandas as pd

from corridor.critical import Reoptimiser, run_closures
from corridor.errors import InvalidOptionError
from corridor.flow import MT, TIE_BREAK_USD_PER_T, FlowModel, build_result, segment_label
from corridor.network import Network

#: Kinds of element a pair may combine.
KINDS = ("link", "node", "corridor", "country")
#: What pairs are ranked by: their damage, or what they add to their elements' own damage.
RANKINGS = ("damage", "interaction")


def critical_pairs(network: Network, demand: pd.DataFrame, scenario: object = None,
                   top: int = 20, kinds: tuple[str, ...] = KINDS, by: str = "damage",
                   workers: int = 1, time_limit_s: float | None = None,
                   progress: Callable[[int, int], None] | None = None) -> pd.DataFrame:
    """Rank pairs of simultaneous failures by the damage of a full re-solve.

    Parameters
    ----------
    network, demand, scenario
        As for :func:`corridor.critical.critical`.
    top
        How many pairs to rank (the bounds prune the rest).
    kinds
        Element kinds to combine: ``link`` (links carrying cargo), ``node`` (every link
        touching it), ``corridor`` (every link of a corridor tag, e.g. ``CPC``), ``country``
        (every link in or touching it).
    by
        ``"damage"`` (the pair's damage) or ``"interaction"`` (its damage minus its two
        elements' own: failures that are worse together than apart).
    workers
        Processes for the re-solves.
    progress
        Called as re-solves finish with how many just finished and how many are still
        planned in all (the count falls as the bounds prune pairs).
    time_limit_s
        Wall-clock budget (None: no limit).

    Returns
    -------
    pandas.DataFrame
        ``rank, first, first_kind, second, second_kind, damage_usd, first_alone_usd,
        second_alone_usd, interaction_usd, stranded_t, stranded_value_usd, loss_usd,
        upper_bound_usd``; ``attrs`` holds ``elements``, ``pairs``, ``solved``, ``pruned``
        and ``seconds``.

    Raises
    ------
    InvalidOptionError
        An unknown kind, or ``top`` below 1.
    """
    unknown = [k for k in kinds if k not in KINDS]
    if unknown or not kinds:
        raise InvalidOptionError(f"kinds must be some of {', '.join(KINDS)}")
    if top < 1:
        raise InvalidOptionError("top must be at least 1")
    if by not in RANKINGS:
        raise InvalidOptionError(f"by must be one of {', '.join(RANKINGS)}")
    started = time.perf_counter()
    deadline = None if time_limit_s is None else time.monotonic() + time_limit_s
    if scenario is not None:
        from corridor.scenario import apply_scenario

        network, demand = apply_scenario(network, scenario, demand)
    model = FlowModel(network, demand)
    reopt = Reoptimiser(model, deadline)
    base = reopt.measure(reopt.base_values)
    base_objective = float(np.maximum(reopt.base_values, 0.0) @ model.col_cost) * MT
    routes = build_result(model, reopt.base_values, np.zeros(model.n_rows)).route_split
    names, kind_of, link_sets = _elements(network, model, routes, kinds)
    weight = _route_weight(model, routes)
    touch = _incidence(network, routes, names, kind_of)
    cols = [model.link_columns(links) for links in link_sets]
    worth = np.array([network.costs.value_usd_per_t(g.commodity) for g in model.groups])

    def damage(result: dict) -> float:
        return float(result["generalised_usd"] + result["stranded_penalty_usd"]
                     - base_objective)

    penalty = np.array([model.col_cost[g.strand_cols].max() if len(g.strand_cols) else 0.0
                        for g in model.groups])
    planned = {"total": len(cols)}

    def tick(n: int) -> None:
        if progress is not None:
            progress(n, planned["total"])

    singles = [_with_penalty(r, penalty) for r in run_closures(reopt, cols, "warm", workers,
                                                                deadline, tick)]
    alone = np.array([damage(r) for r in singles])
    # upper bound of a pair: every baseline route touching either element stranded
    weighted = touch * weight[:, None]
    own = weighted.sum(axis=0)
    overlap = touch.T.astype(float) @ weighted
    n = len(names)
    first, second = np.triu_indices(n, k=1)
    upper = own[first] + own[second] - overlap[first, second]
    keep = ~_nested(link_sets, first, second)
    first, second, upper = first[keep], second[keep], upper[keep]
    offset = alone[first] + alone[second] if by == "interaction" else 0.0
    bound = upper - offset  # the most a pair can score
    order = np.argsort(-bound, kind="stable")
    best: list[tuple[float, int]] = []
    solved_rows = []
    batch = max(8, 4 * workers)
    position = 0
    while position < len(order):
        threshold = sorted(d for d, _ in best)[-top] if len(best) >= top else -np.inf
        if bound[order[position]] < threshold:
            break
        chunk = [i for i in order[position:position + batch] if bound[i] >= threshold]
        planned["total"] = (len(cols) + len(solved_rows)
                            + int((bound[order[position:]] >= threshold).sum()))
        position += batch
        jobs = [np.union1d(cols[first[i]], cols[second[i]]) for i in chunk]
        for i, result in zip(chunk, run_closures(reopt, jobs, "warm", workers, deadline, tick),
                             strict=True):
            result = _with_penalty(result, penalty)
            value = damage(result)
            score = value - (alone[first[i]] + alone[second[i]] if by == "interaction" else 0)
            best.append((score, i))
            solved_rows.append((i, value, result, score))
    ranked = sorted(solved_rows, key=lambda item: -item[3])[:top]
    rows = []
    for i, value, result, _ in ranked:
        a, b = first[i], second[i]
        stranded = result["stranded_t"] - base["stranded_t"]
        lost = float((result["stranded_by_group"] - base["stranded_by_group"]) @ worth)
        added = result["generalised_usd"] - base["generalised_usd"]
        rows.append({"first": names[a], "first_kind": kind_of[a], "second": names[b],
                     "second_kind": kind_of[b], "damage_usd": value,
                     "first_alone_usd": alone[a], "second_alone_usd": alone[b],
                     "interaction_usd": value - alone[a] - alone[b],
                     "stranded_t": stranded if abs(stranded) >= 0.5 else 0.0,
                     "stranded_value_usd": lost if abs(stranded) >= 0.5 else 0.0,
                     "loss_usd": (lost if abs(stranded) >= 0.5 else 0.0) + added,
                     "upper_bound_usd": float(upper[i])})
    table = pd.DataFrame(rows, columns=[
        "first", "first_kind", "second", "second_kind", "damage_usd", "first_alone_usd",
        "second_alone_usd", "interaction_usd", "stranded_t", "stranded_value_usd", "loss_usd",
        "upper_bound_usd"])
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    table.attrs.update({"elements": n, "pairs": int(n * (n - 1) // 2),
                        "solved": len(solved_rows) + len(cols),
                        "pruned": int(n * (n - 1) // 2) - len(solved_rows),
                        "seconds": time.perf_counter() - started})
    return table


def _with_penalty(result: dict, penalty: np.ndarray) -> dict:
    """Add the stranded tonnes priced at their groups' penalties (what the programme
    minimises)."""
    return {**result, "stranded_penalty_usd": float(result["stranded_by_group"] @ penalty)}


def _elements(network: Network, model: FlowModel, routes: pd.DataFrame,
              kinds: tuple[str, ...]) -> tuple[list[str], list[str], list[np.ndarray]]:
    """The elements that carry baseline cargo, with the link positions each one closes."""
    links = network.links
    used = set()
    for ids in routes["link_ids"]:
        used.update(i for i in str(ids).split(";") if i)
    position = {link: i for i, link in enumerate(links.index)}
    names, kind_of, sets = [], [], []
    if "link" in kinds:
        for link in sorted(used):
            names.append(link)
            kind_of.append("link")
            sets.append(np.array([position[link]]))
    if "node" in kinds:
        touched = sorted(set(links.loc[sorted(used), "from_node_id"])
                         | set(links.loc[sorted(used), "to_node_id"]))
        for node in touched:
            chosen = np.flatnonzero((links["from_node_id"] == node).to_numpy()
                                    | (links["to_node_id"] == node).to_numpy())
            names.append(node)
            kind_of.append("node")
            sets.append(chosen)
    if "corridor" in kinds:
        tags = links["corridor"].fillna("").astype(str).str.split(";")
        used_tags = sorted({t.strip() for link in used for t in tags[link] if t.strip()})
        for tag in used_tags:
            names.append(tag)
            kind_of.append("corridor")
            sets.append(np.flatnonzero(tags.map(lambda ts, t=tag: t in
                                                [x.strip() for x in ts]).to_numpy()))
    if "country" in kinds:
        from corridor.scenario import touches_country

        codes = sorted({c for text in routes["countries"] for c in str(text).split(";") if c})
        for code in codes:
            names.append(code)
            kind_of.append("country")
            sets.append(np.flatnonzero(touches_country(links, network.nodes, code).to_numpy()))
    return names, kind_of, sets


def _route_weight(model: FlowModel, routes: pd.DataFrame) -> np.ndarray:
    """What stranding each baseline route would add: tonnes x (penalty - its cost)."""
    vot = {c: g.value_of_time for (c, _), g in model.graphs.items()}
    penalty = np.array([model.penalty_usd_per_t[segment_label(c, m, a)] for c, m, a in zip(
        routes["commodity"], routes["allowed_modes"], routes["avoid_countries"], strict=True)])
    cost = (routes["cost_usd_per_t"].to_numpy(dtype=float)
            + routes["commodity"].map(vot).to_numpy(dtype=float)
            * routes["days"].to_numpy(dtype=float))
    return routes["t_per_year"].to_numpy(dtype=float) * np.maximum(
        penalty - cost + TIE_BREAK_USD_PER_T, 0.0)


def _incidence(network: Network, routes: pd.DataFrame, names: list[str],
               kinds: list[str]) -> np.ndarray:
    """Which baseline route touches which element (routes x elements, boolean)."""
    links = network.links
    out = np.zeros((len(routes), len(names)), dtype=bool)
    column = {(k, n): j for j, (k, n) in enumerate(zip(kinds, names, strict=True))}
    node_country = network.nodes["country"].fillna("").astype(str)
    for r, (ids, nodes) in enumerate(zip(routes["link_ids"], routes["nodes"], strict=True)):
        route_links = [i for i in str(ids).split(";") if i]
        route_nodes = [i for i in str(nodes).split(";") if i]
        codes = set()
        for link in route_links:
            j = column.get(("link", link))
            if j is not None:
                out[r, j] = True
            codes.update(c for c in str(links.at[link, "country"] or "").split(";") if c)
            for tag in str(links.at[link, "corridor"] or "").split(";"):
                j = column.get(("corridor", tag.strip()))
                if j is not None:
                    out[r, j] = True
        for node in route_nodes:
            j = column.get(("node", node))
            if j is not None:
                out[r, j] = True
            codes.update(c for c in node_country.get(node, "").split(";") if c)
        for code in codes:
            j = column.get(("country", code))
            if j is not None:
                out[r, j] = True
    return out


def _nested(sets: list[np.ndarray], first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Pairs where one element's links hold the other's (the pair is the larger alone)."""
    as_sets = [frozenset(s.tolist()) for s in sets]
    return np.array([as_sets[a] <= as_sets[b] or as_sets[b] <= as_sets[a]
                     for a, b in zip(first, second, strict=True)], dtype=bool)
