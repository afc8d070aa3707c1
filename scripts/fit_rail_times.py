"""Fit container rail speeds and waiting times to published transit times; print the fit.

The cost model's container rail speed on the 1520 mm network comes from the ERAI (5,649 km in
7.31 days). What the published schedules and forwarders' times leave to fit is:

* the speed of container trains on Chinese (``cn``), European 1435 mm (``eu``) and
  Azerbaijani and Georgian (``caucasus``) lines,
* the extra dwell at Brest-Malaszewicze (``border_delay_days`` of that link),
* the wait for a sailing across the Caspian (``wait_days`` of the ferry links and of the
  Caspian sea links),
* the ``express`` service of scheduled block trains: a speed factor on the 1520 mm and
  European sections and the time of its border crossings (express trains have priority at
  borders); on Chinese lines express and conventional trains share one speed.

They are fitted by least squares on the logarithm of modelled over observed days, on the
observations named in :data:`FIT_ON`; every other time observation is left to validate the
fit. The script prints the fitted values (with their ranges) and each observation's error;
``data/costs/modes.csv``, ``transfers.csv`` and ``network/link.csv`` carry the values with
this script named in their ``estimate_method``.

Usage::

    python scripts/fit_rail_times.py
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import least_squares

import corridor
from corridor.routing import Router

OBSERVED = Path(__file__).resolve().parents[1] / "src" / "corridor" / "data" / "observed"
FIT_ON = ("china_poland_2024", "china_germany_2024", "xian_duisburg_express_2024",
          "altynkol_aktau_2024", "altynkol_baku_2024", "xian_baku_2024",
          "china_azerbaijan_2024", "china_georgia_2024", "altynkol_poti_2024")
#: name, start, low, high
PARAMETERS = (
    ("speed_cn_km_per_day", 700.0, 300.0, 1200.0),
    ("speed_eu_km_per_day", 700.0, 150.0, 1200.0),
    ("brest_delay_days", 2.0, 0.0, 6.0),
    ("caspian_wait_days", 1.0, 0.0, 6.0),
    ("express_speed_factor", 1.3, 1.0, 2.5),
    ("express_border_days", 0.5, 0.1, 1.69),
    ("speed_caucasus_km_per_day", 700.0, 150.0, 1200.0),
)
CONTAINER_RAIL = ("container", "rail")


def _caspian_crossings(net: corridor.Network) -> pd.Series:
    """Ferry and sea links across the Caspian: where cargo waits for a sailing."""
    links = net.links
    area = links["from_node_id"].map(net.nodes["sea_area"]).fillna("")
    return links["mode"].isin(["ferry", "sea"]) & (area == "caspian")


def _observations() -> list[dict[str, str]]:
    with (OBSERVED / "times.csv").open(encoding="utf-8") as handle:
        return [row for row in csv.DictReader(handle) if row["commodity"] == "container"]


def _apply(net: corridor.Network, values: np.ndarray) -> corridor.Network:
    speed_cn, speed_eu, brest, wait, factor, border, speed_caucasus = values
    costs = net.costs
    modes = costs.modes.copy()
    base = modes.loc[(*CONTAINER_RAIL, "", "")].copy()
    rows = {(*CONTAINER_RAIL, "cn", ""): speed_cn, (*CONTAINER_RAIL, "eu", ""): speed_eu,
            (*CONTAINER_RAIL, "caucasus", ""): speed_caucasus}
    standard = float(base["speed_km_per_day"])
    rows.update({(*CONTAINER_RAIL, "", "express"): standard * factor,
                 (*CONTAINER_RAIL, "eu", "express"): speed_eu * factor})
    for key, speed in rows.items():
        row = base.copy()
        row["speed_km_per_day"] = speed
        modes.loc[key] = row
    transfers = costs.transfers.copy()
    transfers = transfers[~((transfers["commodity"] == "container")
                            & (transfers["service"] == "express"))]
    express = transfers[(transfers["commodity"] == "container")
                        & (transfers["kind"] == "border_crossing")
                        & (transfers["mode"] == "rail") & (transfers["service"] == "")].copy()
    express["service"] = "express"
    express["time_days"] = border
    transfers = pd.concat([transfers, express], ignore_index=True)
    links = net.links.copy()
    links.loc["rail_brest_malaszewicze", "border_delay_days"] = brest
    links.loc[_caspian_crossings(net), "wait_days"] = wait
    new_costs = type(costs)(commodities=costs.commodities, modes=modes.sort_index(),
                            transfers=transfers, sources=costs.sources,
                            customs_unions=costs.customs_unions, path=costs.path)
    return corridor.Network(nodes=net.nodes, links=links, sources=net.sources,
                            costs=new_costs, path=net.path, terminals=net.terminals,
                            contracts=net.contracts, place_names=net.place_names)


def _days(net: corridor.Network, rows: list[dict[str, str]]) -> np.ndarray:
    router = Router(net)
    out = []
    for row in rows:
        modes = [m for m in row["modes"].split(";") if m]
        own = net.costs.allowed_modes(row["commodity"])
        avoid_modes = [m for m in own if modes and m not in modes and m != "transfer"]
        route = router.route(row["origin"], row["destination"], commodity=row["commodity"],
                             optimize="time", via=row["via"] or None,
                             avoid=[c for c in row["avoid"].split(";") if c],
                             avoid_modes=avoid_modes, service=row["service"])[0]
        out.append(route.days)
    return np.asarray(out)


def main() -> int:
    net = corridor.load_network()
    rows = _observations()
    fit_rows = [r for r in rows if r["obs_id"] in FIT_ON]
    observed = np.array([(float(r["days_low"]) + float(r["days_high"])) / 2 for r in fit_rows])

    def residuals(values: np.ndarray) -> np.ndarray:
        return np.log(_days(_apply(net, values), fit_rows) / observed)

    start = np.array([p[1] for p in PARAMETERS])
    bounds = (np.array([p[2] for p in PARAMETERS]), np.array([p[3] for p in PARAMETERS]))
    fit = least_squares(residuals, start, bounds=bounds, diff_step=0.05)
    print("| parameter | fitted | range |")
    print("|---|---:|---|")
    for (name, _, low, high), value in zip(PARAMETERS, fit.x, strict=True):
        print(f"| {name} | {value:.3f} | {low:g}-{high:g} |")
    fitted = _apply(net, fit.x)
    all_days = _days(fitted, rows)
    print("\n| observation | fitted on | observed | modelled | error |")
    print("|---|---|---:|---:|---:|")
    for row, days in zip(rows, all_days, strict=True):
        obs = (float(row["days_low"]) + float(row["days_high"])) / 2
        print(f"| {row['obs_id']} | {'yes' if row['obs_id'] in FIT_ON else 'no'} | "
              f"{obs:.2f} | {days:.2f} | {100 * (days - obs) / obs:+.0f}% |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
