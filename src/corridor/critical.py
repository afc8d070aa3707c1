"""Single points of failure: rank links and nodes by the damage their loss does.

Each link (or node) is removed in turn and the whole assignment is solved again; the damage is
the tonnes that can no longer be delivered (stranded) and the extra yearly transport cost of
what still moves. The re-solves share one LP (:class:`corridor.flow.FlowModel`):

* a link that carries nothing in the optimum cannot change it when removed (the optimum stays
  feasible and optimal), so only used links are re-solved;
* ``method="warm"`` keeps one HiGHS instance, sets the upper bounds of the link's arc columns
  to 0 with ``changeColsBounds``, restarts the dual simplex from the baseline basis and
  restores the bounds afterwards; ``method="cold"`` builds and solves a fresh LP per link
  (kept for benchmarking, see ``bench/bench_assign.py``);
* ``workers > 1`` splits the re-solves over processes, each holding its own warm instance.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor

import highspy
import numpy as np
import pandas as pd

from corridor.errors import InvalidOptionError
from corridor.flow import MT, FlowModel, highs_from_arrays, solve_model
from corridor.network import Network

METHODS = ("warm", "cold")


class Reoptimiser:
    """Solve a :class:`FlowModel` once, then again with sets of columns closed.

    Parameters
    ----------
    model
        The assignment LP.
    """

    def __init__(self, model: FlowModel, deadline: float | None = None) -> None:
        self.model = model
        self.arrays = model.arrays()
        self.h = highs_from_arrays(self.arrays)
        self.base_values, _ = solve_model(self.h, deadline)
        self.basis = self.h.getBasis()
        self.n_groups = len(model.groups)

    def measure(self, values: np.ndarray) -> dict[str, object]:
        """Stranded tonnes and costs of a solution, in total and per source group."""
        return _measure(values, self._measures())

    def _measures(self) -> dict[str, np.ndarray]:
        m = self.model
        return {"is_strand": m.is_strand, "money": m.col_money, "generalised": m.col_cost,
                "group": m.col_group, "n_groups": np.array(self.n_groups)}

    def close(self, cols: np.ndarray, method: str = "warm",
              deadline: float | None = None) -> np.ndarray:
        """Column values of the optimum with ``cols`` forced to zero."""
        if method == "cold":
            arrays = dict(self.arrays)
            arrays["upper"] = arrays["upper"].copy()
            arrays["upper"][cols] = 0.0
            values, _ = solve_model(highs_from_arrays(arrays), deadline)
            return values
        return _close_warm(self.h, self.basis, self.arrays, cols, deadline)


def _close_warm(h, basis, arrays: dict[str, np.ndarray], cols: np.ndarray,
                deadline: float | None = None) -> np.ndarray:
    cols = np.asarray(cols, dtype=np.int32)
    if not len(cols):
        return np.asarray(h.getSolution().col_value)
    zeros = np.zeros(len(cols))
    h.changeColsBounds(len(cols), cols, zeros, zeros)
    h.setBasis(basis)
    try:
        values, _ = solve_model(h, deadline)
    finally:
        upper = arrays["upper"][cols]
        upper = np.where(np.isinf(upper), highspy.kHighsInf, upper)
        h.changeColsBounds(len(cols), cols, arrays["lower"][cols], upper)
    return values


def _measure(values: np.ndarray, measures: dict[str, np.ndarray]) -> dict[str, object]:
    tonnes = np.maximum(values, 0.0) * MT
    strand = measures["is_strand"]
    moved = np.where(strand, 0.0, tonnes)
    n_groups = int(measures["n_groups"])
    return {
        "stranded_t": float(tonnes[strand].sum()),
        "cost_usd": float(moved @ measures["money"]),
        "generalised_usd": float(moved @ measures["generalised"]),
        "stranded_by_group": np.bincount(measures["group"][strand], weights=tonnes[strand],
                                         minlength=n_groups),
        "cost_by_group": np.bincount(measures["group"], weights=moved * measures["money"],
                                     minlength=n_groups),
    }


def _basis_arrays(basis: highspy.HighsBasis) -> tuple[np.ndarray, np.ndarray]:
    """A basis as two int arrays (HighsBasis itself cannot be pickled)."""
    return (np.array([int(s) for s in basis.col_status], dtype=np.int8),
            np.array([int(s) for s in basis.row_status], dtype=np.int8))


def _basis_from(col_status: np.ndarray, row_status: np.ndarray) -> highspy.HighsBasis:
    basis = highspy.HighsBasis()
    basis.col_status = [highspy.HighsBasisStatus(int(s)) for s in col_status]
    basis.row_status = [highspy.HighsBasisStatus(int(s)) for s in row_status]
    basis.valid = True
    return basis


def _worker(arrays: dict[str, np.ndarray], measures: dict[str, np.ndarray],
            statuses: tuple[np.ndarray, np.ndarray],
            jobs: list[np.ndarray]) -> list[dict[str, object]]:
    """Run in a worker process: one warm HiGHS instance for a chunk of closures.

    The baseline basis comes from the parent, so the worker's first solve takes no iterations.
    """
    h = highs_from_arrays(arrays)
    basis = _basis_from(*statuses)
    h.setBasis(basis)
    solve_model(h)
    return [_measure(_close_warm(h, basis, arrays, cols), measures) for cols in jobs]


def run_closures(reopt: Reoptimiser, jobs: list[np.ndarray], method: str = "warm",
                 workers: int = 1, deadline: float | None = None,
                 progress: Callable[[int], None] | None = None) -> list[dict[str, object]]:
    """Re-solve once per closure (a set of columns) and measure each optimum.

    Parameters
    ----------
    reopt
        The solved baseline.
    jobs
        Column sets to close, one re-solve each.
    method
        ``"warm"`` (shared instance, bounds changed, basis reused) or ``"cold"``.
    workers
        Processes to use (warm method only); 1 runs in this process.
    deadline
        A :func:`time.monotonic` instant by which every re-solve must end (one process only;
        worker processes are not interrupted).
    progress
        Called with the number of re-solves just finished (for a progress display).

    Returns
    -------
    list[dict]
        :meth:`Reoptimiser.measure` of each re-solve, in the order of ``jobs``.
    """
    if method not in METHODS:
        raise InvalidOptionError(f"method must be one of {', '.join(METHODS)}")
    tick = progress or (lambda n: None)
    if workers <= 1 or method == "cold" or len(jobs) < 2:
        results = []
        for cols in jobs:
            results.append(reopt.measure(reopt.close(cols, method, deadline)))
            tick(1)
        return results
    chunks = [list(range(i, len(jobs), workers)) for i in range(workers)]
    out: list[dict[str, object] | None] = [None] * len(jobs)
    with ProcessPoolExecutor(max_workers=workers) as pool:
        statuses = _basis_arrays(reopt.basis)
        futures = [pool.submit(_worker, reopt.arrays, reopt._measures(), statuses,
                               [jobs[i] for i in chunk]) for chunk in chunks if chunk]
        for chunk, future in zip([c for c in chunks if c], futures, strict=True):
            for i, result in zip(chunk, future.result(), strict=True):
                out[i] = result
            tick(len(chunk))
    return out  # type: ignore[return-value]


def critical(network: Network, demand: pd.DataFrame, scenario: object = None,
             top: int | None = None, what: str = "link", method: str = "warm",
             workers: int = 1, time_limit_s: float | None = None,
             progress: Callable[[int, int], None] | None = None) -> pd.DataFrame:
    """Rank every link (or node) by the damage its loss does after a full re-solve.

    Parameters
    ----------
    network
        A loaded network.
    demand
        A demand table.
    scenario
        Optional scenario (object, name or path) applied before the ranking.
    top
        Keep only the ``top`` most damaging; ``None`` keeps all.
    what
        ``"link"`` (close one link) or ``"node"`` (close every link touching the node, which
        also strands the node's own demand).
    method
        ``"warm"`` (default) or ``"cold"``; see the module docstring.
    workers
        Worker processes for the re-solves.
    time_limit_s
        Wall-clock budget for the whole ranking (None: no limit).
    progress
        Called as re-solves finish with how many just finished and how many there are.

    Returns
    -------
    pandas.DataFrame
        Ranked by ``loss_usd`` (most damaging first). Columns: ``rank``, the id (``link_id``
        or ``node_id``), description columns, ``flow_t_per_year`` (baseline tonnes through
        it), ``stranded_t``, ``stranded_pct`` (of all demand), ``stranded_value_usd`` (the
        stranded cargo at the commodity prices of the cost model), ``added_cost_usd`` (money
        for the cargo that still moves), ``added_generalised_usd`` (money + value of time),
        ``loss_usd`` (stranded value + added generalised cost, a year).
        ``attrs`` holds ``solves`` and ``seconds``.

    Raises
    ------
    InvalidOptionError
        Bad ``what`` or ``method``.
    TimeLimitError
        The budget ran out.
    """
    if what not in ("link", "node"):
        raise InvalidOptionError("what must be 'link' or 'node'")
    if method not in METHODS:
        raise InvalidOptionError(f"method must be one of {', '.join(METHODS)}")
    if scenario is not None:
        from corridor.scenario import apply_scenario

        network, demand = apply_scenario(network, scenario, demand)
    started = time.perf_counter()
    deadline = None if time_limit_s is None else time.monotonic() + time_limit_s
    model = FlowModel(network, demand)
    reopt = Reoptimiser(model, deadline)
    base = reopt.measure(reopt.base_values)
    tonnes = np.maximum(reopt.base_values, 0.0) * MT
    flow_cols = model.col_link >= 0
    fwd = flow_cols & model.col_forward
    back = flow_cols & ~model.col_forward
    n_links = len(network.links)
    forward = np.bincount(model.col_link[fwd], weights=tonnes[fwd], minlength=n_links)
    backward = np.bincount(model.col_link[back], weights=tonnes[back], minlength=n_links)
    table = _candidates(network, forward, backward, what)
    used = table["flow_t_per_year"].to_numpy() > 0.5
    jobs = [model.link_columns(positions) for positions in table.loc[used, "_links"]]
    tick = None if progress is None else (lambda n: progress(n, len(jobs)))
    results = run_closures(reopt, jobs, method, workers, deadline, tick)
    total_demand = float(model.od["t_per_year"].sum())
    stranded = np.zeros(len(table))
    lost = np.zeros(len(table))
    cost = np.zeros(len(table))
    generalised = np.zeros(len(table))
    worth = np.array([network.costs.value_usd_per_t(g.commodity) for g in model.groups])
    where = np.flatnonzero(used)
    for i, result in zip(where, results, strict=True):
        stranded[i] = result["stranded_t"] - base["stranded_t"]
        lost[i] = (result["stranded_by_group"] - base["stranded_by_group"]) @ worth
        cost[i] = result["cost_usd"] - base["cost_usd"]
        generalised[i] = result["generalised_usd"] - base["generalised_usd"]
    table["stranded_t"] = np.where(np.abs(stranded) < 0.5, 0.0, stranded)
    table["stranded_pct"] = 100.0 * table["stranded_t"] / total_demand if total_demand else 0.0
    table["stranded_value_usd"] = np.where(np.abs(stranded) < 0.5, 0.0, lost)
    table["added_cost_usd"] = np.where(np.abs(cost) < 1.0, 0.0, cost)
    table["added_generalised_usd"] = np.where(np.abs(generalised) < 1.0, 0.0, generalised)
    table["loss_usd"] = table["stranded_value_usd"] + table["added_generalised_usd"]
    table = table.drop(columns="_links").sort_values(
        ["loss_usd", "stranded_t", "flow_t_per_year"], ascending=False)
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    table = table.reset_index(drop=True)
    if top is not None:
        table = table.head(top)
    table.attrs["solves"] = len(jobs)
    table.attrs["seconds"] = time.perf_counter() - started
    table.attrs["method"] = method
    table.attrs["workers"] = workers
    return table


def _candidates(network: Network, forward: np.ndarray, backward: np.ndarray,
                what: str) -> pd.DataFrame:
    links = network.links
    link_flow = forward + backward
    names = network.nodes["name"]
    if what == "link":
        table = pd.DataFrame({
            "link_id": links.index,
            "from": links["from_node_id"].map(names).to_numpy(),
            "to": links["to_node_id"].map(names).to_numpy(),
            "mode": links["mode"].to_numpy(), "corridor": links["corridor"].to_numpy(),
            "country": links["country"].to_numpy(),
            "capacity_t_per_year": links["capacity_t_per_year"].to_numpy(dtype=float),
            "flow_t_per_year": link_flow,
        })
        table["_links"] = [[i] for i in range(len(links))]
        return table
    position = {node: [] for node in network.nodes.index}
    for i, (a, b) in enumerate(zip(links["from_node_id"], links["to_node_id"], strict=True)):
        position[a].append(i)
        position[b].append(i)
    nodes = network.nodes
    table = pd.DataFrame({
        "node_id": nodes.index, "name": nodes["name"].to_numpy(),
        "country": nodes["country"].to_numpy(), "kind": nodes["kind"].to_numpy(),
    })
    # tonnes handled by the node: the larger of what enters and what leaves it (exports leave
    # an origin, imports enter a destination, transit does both)
    node_pos = {node: i for i, node in enumerate(nodes.index)}
    a = links["from_node_id"].map(node_pos).to_numpy()
    b = links["to_node_id"].map(node_pos).to_numpy()
    inflow = (np.bincount(b, weights=forward, minlength=len(nodes))
              + np.bincount(a, weights=backward, minlength=len(nodes)))
    outflow = (np.bincount(a, weights=forward, minlength=len(nodes))
               + np.bincount(b, weights=backward, minlength=len(nodes)))
    table["flow_t_per_year"] = np.maximum(inflow, outflow)
    table["_links"] = list(position.values())
    return table
