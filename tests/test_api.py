"""The JSON API: every endpoint, and clear 4xx bodies for every user mistake (never a 500)."""

from __future__ import annotations

import json
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import corridor
from corridor.demand import load_demand
from corridor.service import (
    MAX_BODY_BYTES,
    MAX_SCENARIO_EDITS,
    create_app,
    scenario_toml,
)
from tests.conftest import FIXTURES
from tests.test_calibration import _tiny_observations as tiny_observations

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

FLOWS = FIXTURES / "flows"


@pytest.fixture(scope="module")
def client(tiny: corridor.Network) -> TestClient:
    demand = load_demand(FLOWS / "demand.csv", network=tiny)
    app = create_app(tiny, demand, FLOWS / "scenarios")
    return TestClient(app, raise_server_exceptions=False)


def _error(response, status: int, kind: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == kind and body["message"], body
    return body


# -- network --------------------------------------------------------------------------------


def test_health(client: TestClient) -> None:
    body = client.get("/api/health").json()
    assert body["status"] == "ok" and body["nodes"] == 8
    assert "crude_oil" in body["commodities"]


@pytest.mark.parametrize("query", ["альф", "Alfa", "alpha", "ALP"])
def test_places_search_english_russian_and_aliases(client: TestClient, query: str) -> None:
    body = client.get("/api/places", params={"q": query}).json()
    assert [p["id"] for p in body["places"]] == ["a"]
    assert body["places"][0]["name_ru"] == "Альфа"


def test_places_without_query_lists_all_and_respects_limit(client: TestClient) -> None:
    assert len(client.get("/api/places").json()["places"]) == 8
    assert len(client.get("/api/places", params={"limit": 3}).json()["places"]) == 3
    _error(client.get("/api/places", params={"limit": 0}), 422, "invalid_request")


def test_places_with_no_match_suggests_close_names(client: TestClient) -> None:
    body = client.get("/api/places", params={"q": "Zullu"}).json()
    assert body["places"] == [] and "Zulu" in body["suggestions"]


def test_network_geojson(client: TestClient) -> None:
    body = client.get("/api/network").json()
    assert body["type"] == "FeatureCollection" and len(body["features"]) == 18
    links = [f for f in body["features"] if f["properties"]["feature"] == "link"]
    assert {f["properties"]["mode"] for f in links} >= {"rail", "ferry", "oil_pipeline"}


def test_basemap(client: TestClient) -> None:
    body = client.get("/api/basemap").json()
    assert body["type"] == "FeatureCollection"


def test_sources(client: TestClient) -> None:
    ids = {s["source_id"] for s in client.get("/api/sources").json()["sources"]}
    assert {"hand", "hand_cost"} <= ids


# -- routes ---------------------------------------------------------------------------------


def test_route_with_alternatives_and_geojson(client: TestClient) -> None:
    response = client.get("/api/route", params={"origin": "Альфа", "destination": "Zulu",
                                                "alternatives": 3})
    assert response.status_code == 200, response.text
    routes = response.json()["routes"]
    assert [r["rank"] for r in routes] == [1, 2, 3]
    best = routes[0]
    assert best["origin"] == "a" and best["destination"] == "z"
    assert best["cost_usd_per_t"] <= routes[1]["cost_usd_per_t"]
    features = best["geojson"]["features"]
    assert len(features) == len(best["legs"])
    assert features[0]["geometry"]["coordinates"][0] == [70.0, 45.0]


def test_route_options_are_applied(client: TestClient) -> None:
    body = client.get("/api/route", params={"origin": "Alpha", "destination": "Zulu",
                                            "avoid": "RUS", "optimize": "time"}).json()
    assert "RUS" not in body["routes"][0]["countries"]
    body = client.get("/api/route", params={"origin": "Alpha", "destination": "Zulu",
                                            "avoid_modes": "ferry,sea"}).json()
    assert all(leg["mode"] == "rail" for leg in body["routes"][0]["legs"])
    body = client.get("/api/route", params={"origin": "Alpha", "destination": "Zulu",
                                            "via": "Port East"}).json()
    assert "p" in [leg["to_id"] for leg in body["routes"][0]["legs"]]


def test_list_parameters_may_repeat(client: TestClient) -> None:
    # each country alone leaves a route; both together (either way of writing) leave none
    for country in ("RUS", "AZE"):
        assert client.get("/api/route", params={"origin": "Alpha", "destination": "Zulu",
                                                "avoid": country}).status_code == 200
    body = _error(client.get("/api/route", params=[
        ("origin", "Alpha"), ("destination", "Zulu"), ("avoid", "RUS"), ("avoid", "AZE")]),
        404, "no_route")
    assert body["constraint"] == "avoid"
    both = client.get("/api/route", params=[("origin", "Alpha"), ("destination", "Zulu"),
                                            ("avoid_modes", "ferry"), ("avoid_modes", "sea")])
    assert all(leg["mode"] == "rail" for leg in both.json()["routes"][0]["legs"])


def test_unknown_place_is_404_with_suggestions(client: TestClient) -> None:
    body = _error(client.get("/api/route", params={"origin": "Alpah", "destination": "Zulu"}),
                  404, "unknown_place")
    assert body["suggestions"] == ["Alpha"] and body["name"] == "Alpah"


@pytest.mark.parametrize(
    ("params", "status", "kind", "text"),
    [
        ({"commodity": "tea"}, 422, "invalid_option", "Unknown commodity 'tea'"),
        ({"optimize": "vibes"}, 422, "invalid_option", "Unknown objective"),
        ({"avoid_modes": "warp"}, 422, "invalid_option", "Unknown mode"),
        ({"avoid": "XXX"}, 422, "invalid_option", "country code"),
        ({"alternatives": 11}, 422, "invalid_request", "alternatives"),
        ({"alternatives": 0}, 422, "invalid_request", "alternatives"),
        ({"alternatives": "many"}, 422, "invalid_request", "alternatives"),
        ({"avoid": "RUS,AZE"}, 404, "no_route", "avoid"),
        ({"destination": "Alpha"}, 422, "invalid_option", "different places"),
    ],
)
def test_route_user_mistakes(client: TestClient, params: dict, status: int, kind: str,
                             text: str) -> None:
    query = {"origin": "Alpha", "destination": "Zulu", **params}
    body = _error(client.get("/api/route", params=query), status, kind)
    assert text in body["message"]
    if kind == "no_route":
        assert body["constraint"] == "avoid"


def test_route_missing_parameter_and_overlong_input(client: TestClient) -> None:
    body = _error(client.get("/api/route", params={"origin": "Alpha"}), 422, "invalid_request")
    assert "destination" in body["message"]
    _error(client.get("/api/route", params={"origin": "x" * 500, "destination": "Zulu"}), 422,
           "invalid_request")


def test_concurrent_route_requests_agree(client: TestClient) -> None:
    def ask(i: int) -> tuple:
        params = {"origin": "Alpha", "destination": "Zulu", "alternatives": 1 + i % 3,
                  "optimize": ("cost", "time", "co2")[i % 3]}
        best = client.get("/api/route", params=params).json()["routes"][0]
        return params["optimize"], tuple(leg["link_id"] for leg in best["legs"])

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(ask, range(48)))
    by_objective: dict[str, set] = {}
    for objective, links in results:
        by_objective.setdefault(objective, set()).add(links)
    assert len(by_objective) == 3
    assert all(len(paths) == 1 for paths in by_objective.values())


# -- scenarios and flows ---------------------------------------------------------------------


def test_scenarios_list_and_show(client: TestClient) -> None:
    names = [s["name"] for s in client.get("/api/scenarios").json()]
    assert names[0] == "baseline" and {"close-pipe", "child"} <= set(names)
    body = client.get("/api/scenarios/child").json()
    assert body["inherits"] == "close-pipe" and body["file"] == "child.toml"
    assert [a["kind"] for a in body["actions"]][0] == "close"
    assert all(a["assumption"] for a in body["actions"])
    assert client.get("/api/scenarios/baseline").json()["actions"] == []


def test_unknown_scenario_is_404_with_suggestions(client: TestClient) -> None:
    body = _error(client.get("/api/scenarios/close-pip"), 404, "not_found")
    assert body["suggestions"] == ["close-pipe"]
    _error(client.get("/api/flows", params={"scenario": "nope"}), 404, "not_found")
    _error(client.get("/api/flows", params={"scenario": "../../etc/passwd"}), 404, "not_found")


def test_flows_of_baseline_and_scenario(client: TestClient) -> None:
    base = client.get("/api/flows").json()
    assert base["scenario"] == "baseline" and base["totals"]["stranded_t"] == 0
    closed = client.get("/api/flows", params={"scenario": "close-pipe"}).json()
    assert closed["totals"]["cost_usd"] > base["totals"]["cost_usd"]
    flows = {f["properties"]["id"]: f["properties"] for f in closed["geojson"]["features"]}
    assert flows["ob"]["closed"] and flows["ob"]["flow"] == 0
    assert {row["link_id"] for row in closed["link_flows"]} >= {"op", "pq"}
    assert client.get("/api/flows", params={"scenario": "close-pipe"}).json() == closed


def test_compare(client: TestClient) -> None:
    body = client.get("/api/compare", params={"base": "baseline", "other": "close-pipe"}).json()
    delta = body["totals"]["delta"]
    assert delta["cost_usd"] == pytest.approx(body["totals"]["other"]["cost_usd"]
                                              - body["totals"]["base"]["cost_usd"])
    assert delta["cost_usd"] > 0
    if body.get("detail"):
        assert {c["corridor"] for c in body["detail"]["corridors"]} >= {"Middle"}
    _error(client.get("/api/compare", params={"base": "baseline", "other": "x"}), 404,
           "not_found")


def test_dependency(client: TestClient) -> None:
    body = client.get("/api/dependency", params={"scenario": "baseline"}).json()
    assert {row["exporter"] for row in body["hhi"]} == {"KAZ"}
    assert all(0 <= row["hhi"] <= 10_000 for row in body["hhi"])


def test_critical_links(client: TestClient) -> None:
    body = client.get("/api/critical", params={"top": 3}).json()
    assert len(body["links"]) == 3 and body["links"][0]["rank"] == 1
    _error(client.get("/api/critical", params={"top": 201}), 422, "invalid_request")
    _error(client.get("/api/critical", params={"top": 0}), 422, "invalid_request")


def test_calibration_measures_the_served_model(tiny: corridor.Network, tmp_path: Path,
                                               client: TestClient) -> None:
    folder = tiny_observations(
        tmp_path, volumes=["north,North line,link:cd,container,,,1.2,Mt,2024,obs_hand,"])
    demand = load_demand(FLOWS / "demand.csv", network=tiny)
    own = TestClient(create_app(tiny, demand, FLOWS / "scenarios", observations=folder),
                     raise_server_exceptions=False)
    body = own.get("/api/calibration").json()
    (row,) = body["observations"]
    assert row["obs_id"] == "north" and row["modelled"] == pytest.approx(1.0)
    assert body["summary"][0]["kind"] == "volume" and body["summary"][0]["count"] == 1
    assert own.get("/api/calibration", params={"scenario": "close-pipe"}).status_code == 200
    _error(own.get("/api/calibration", params={"scenario": "nope"}), 404, "not_found")
    # the shipped observations name places this network does not have: a clear 409
    body = _error(client.get("/api/calibration"), 409, "conflict")
    assert "observation tables do not" in body["message"] and "/" not in body["message"]


POSTED = {"title": "Pipe closed (posted)",
          "close": [{"link": "ob", "assumption": "pipeline out for the year"}]}


def test_run_posted_scenario(client: TestClient) -> None:
    response = client.post("/api/scenarios/run", json=POSTED)
    assert response.status_code == 200, response.text
    body = response.json()
    same = client.get("/api/flows", params={"scenario": "close-pipe"}).json()
    assert body["totals"]["cost_usd"] == pytest.approx(same["totals"]["cost_usd"])


def test_run_posted_scenario_that_inherits_a_known_one(client: TestClient) -> None:
    body = {"inherits": "close-pipe", "title": "and demand doubles",
            "demand": [{"factor": 2.0, "commodity": "container", "assumption": "boom"}]}
    response = client.post("/api/scenarios/run", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["totals"]["demand_t"] == pytest.approx(7.4e6)


def test_posted_event_answers_period_by_period(client: TestClient) -> None:
    body = {"title": "pipe out in spring", "year": 2024,
            "close": [{"link": "ob", "start": "2024-03-01", "duration_days": 61,
                       "assumption": "two months"}]}
    response = client.post("/api/scenarios/run", json=body)
    assert response.status_code == 200, response.text
    periods = response.json()["periods"]
    assert len(periods) == 12
    assert [p["start"] for p in periods if p["changes"]] == ["2024-03-01", "2024-04-01"]
    assert client.get("/api/flows").json()["periods"] is None


def test_the_posted_body_is_documented_by_the_scenario_schema(client: TestClient) -> None:
    from corridor.scenario_schema import ACTIONS, TOP_KEYS

    document = client.get("/openapi.json").json()
    body = document["paths"]["/api/scenarios/run"]["post"]["requestBody"]
    assert body["content"]["application/json"]["schema"]["$ref"].endswith("/ScenarioSchema")
    schemas = document["components"]["schemas"]
    assert set(schemas["ScenarioSchema"]["properties"]) == set(TOP_KEYS)
    assert schemas["ScenarioSchema"]["additionalProperties"] is False
    for model in ACTIONS.values():
        assert model.__name__ in schemas
    assert "passage" in schemas["Close"]["properties"]


@pytest.mark.parametrize(
    ("body", "status", "kind", "text"),
    [
        ({"close": [{"link": "ob", "start": "March", "duration_days": 5, "assumption": "x"}]},
         422, "data_error", "must be a date"),
        ({"close": [{"link": "obx", "assumption": "x"}]}, 422, "data_error", "did you mean 'ob'"),
        ({"close": [{"link": "ob"}]}, 422, "data_error", "assumption"),
        ({"clsoe": [{"link": "ob", "assumption": "x"}]}, 422, "data_error", "did you mean 'close'"),
        ({"close": [{"link": "ob", "assumption": "x", "nested": {"a": 1}}]}, 422, "data_error",
         "nested"),
        ({"close": "ob"}, 422, "data_error", "must be an array of tables"),
        ({"multiply_cost": [{"corridor": "North", "factor": -1, "assumption": "x"}]}, 422,
         "data_error", "factor"),
        ({"inherits": "/etc/passwd"}, 404, "not_found", "Unknown scenario"),
        ({"title": 5}, 422, "data_error", "must be a text string"),
    ],
)
def test_run_posted_scenario_mistakes(client: TestClient, body: dict, status: int, kind: str,
                                      text: str) -> None:
    response = client.post("/api/scenarios/run", json=body)
    error = _error(response, status, kind)
    assert text in error["message"] or text in json.dumps(error)
    assert "/tmp" not in json.dumps(error)  # no server paths leak


def test_bad_json_body(client: TestClient) -> None:
    response = client.post("/api/scenarios/run", content=b"{not json",
                           headers={"content-type": "application/json"})
    _error(response, 422, "invalid_request")
    response = client.post("/api/scenarios/run", content=b"[1, 2]",
                           headers={"content-type": "application/json"})
    _error(response, 422, "invalid_request")


def test_oversize_body_is_413(client: TestClient) -> None:
    big = json.dumps({"title": "x" * (MAX_BODY_BYTES + 10)})
    body = _error(client.post("/api/scenarios/run", content=big,
                              headers={"content-type": "application/json"}), 413, "too_large")
    assert "256" in body["message"]

    def chunks():  # no content-length: the limit is counted while reading
        for _ in range(40):
            yield b"x" * 8192

    _error(client.post("/api/scenarios/run", content=chunks(),
                       headers={"content-type": "application/json"}), 413, "too_large")


def test_too_many_scenario_edits(client: TestClient) -> None:
    body = {"close": [{"link": "ob", "assumption": "x"}] * (MAX_SCENARIO_EDITS + 1)}
    error = _error(client.post("/api/scenarios/run", json=body), 422, "invalid_option")
    assert str(MAX_SCENARIO_EDITS) in error["message"]


def test_scenario_toml_writer_round_trips() -> None:
    import tomllib

    data = {"title": 'He said "go"\nnow', "year": 2025, "close": [
        {"link": ["a", "b"], "assumption": "ü", "factor": 1.5, "flag": True}]}
    assert tomllib.loads(scenario_toml(data)) == data


# -- pages and schema -------------------------------------------------------------------------


def test_openapi_and_offline_docs(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    paths = set(schema["paths"])
    assert {"/api/places", "/api/network", "/api/route", "/api/scenarios",
            "/api/scenarios/{name}", "/api/scenarios/run", "/api/flows", "/api/compare",
            "/api/critical", "/api/sources", "/api/calibration"} <= paths
    page = client.get("/docs").text
    assert "cdn" not in page.lower() and "http://" not in page and "https://" not in page


def test_index_page_and_static_assets(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "Corridor" in page.text
    assert client.get("/static/app.js").status_code == 200
    assert "//" not in "".join(line for line in page.text.splitlines()
                               if "src=" in line or "href=\"" in line and "stylesheet" in line)


def test_unknown_path_and_method(client: TestClient) -> None:
    _error(client.get("/api/nothing"), 404, "not_found")
    _error(client.delete("/api/route"), 405, "method_not_allowed")


def test_create_app_with_default_network_when_dataset_loads() -> None:
    try:
        net = corridor.load_network()
    except corridor.CorridorError as exc:  # the shipped dataset may be mid-edit
        pytest.skip(f"shipped dataset does not load: {exc}")
    app = create_app(net)
    with TestClient(app) as client:
        assert client.get("/api/health").json()["nodes"] == len(net.nodes)
        first = net.nodes.index[0]
        assert client.get("/api/places", params={"q": first}).json()["places"]


def test_static_folder_holds_page(tmp_path: Path) -> None:
    from corridor.service import web_folder

    assert (web_folder() / "index.html").is_file()
    assert (web_folder() / "app.js").is_file()


def test_scenario_results_are_computed_once_under_concurrency(
        tiny: corridor.Network, monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    import corridor.flow
    from corridor.service import SCENARIO_CACHE_SIZE, Engine

    real = corridor.flow.assign
    calls: list[str] = []

    def slow_assign(network, demand, scenario=None, time_limit_s=None):
        calls.append(getattr(scenario, "name", "baseline"))
        time.sleep(0.05)
        return real(network, demand, scenario, time_limit_s)

    monkeypatch.setattr(corridor.flow, "assign", slow_assign)
    engine = Engine(tiny, load_demand(FLOWS / "demand.csv", network=tiny), FLOWS / "scenarios")
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: engine.flow_result("close-pipe"), range(16)))
    assert calls == ["close-pipe"] and all(r is results[0] for r in results)
    for i in range(SCENARIO_CACHE_SIZE + 1):  # the cache is bounded (LRU)
        engine._cached(f"k{i}", lambda i=i: i)
    assert len(engine._cache) == SCENARIO_CACHE_SIZE


# -- hostile clients ----------------------------------------------------------------------------


def test_internal_faults_are_not_echoed(tiny: corridor.Network,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from corridor.service import Engine

    def broken(self, name: str, top: int = 50) -> dict:
        raise ValueError("secret /srv/corridor/internal detail")

    monkeypatch.setattr(Engine, "flows", broken)
    app = create_app(tiny, load_demand(FLOWS / "demand.csv", network=tiny), FLOWS / "scenarios")
    response = TestClient(app, raise_server_exceptions=False).get("/api/flows")
    body = _error(response, 500, "internal")
    assert "secret" not in response.text and "ValueError" not in response.text
    assert "log" in body["message"]


def test_a_full_queue_answers_503_and_a_greedy_client_429(
        tiny: corridor.Network, monkeypatch: pytest.MonkeyPatch) -> None:
    import corridor.service.middleware as service

    demand = load_demand(FLOWS / "demand.csv", network=tiny)
    monkeypatch.setitem(service.MAX_WAITING, "heavy", 0)  # nobody may wait: always full
    with TestClient(create_app(tiny, demand, FLOWS / "scenarios")) as client:
        response = client.get("/api/flows")
        _error(response, 503, "busy")
        assert response.headers["Retry-After"] == str(service.RETRY_AFTER_S)
        assert client.get("/api/route", params={"origin": "a", "destination": "z"}
                          ).status_code == 200  # routing has its own queue
    monkeypatch.setitem(service.MAX_WAITING, "heavy", 8)
    monkeypatch.setattr(service, "MAX_HEAVY_PER_CLIENT", 0)
    with TestClient(create_app(tiny, demand, FLOWS / "scenarios")) as client:
        response = client.post("/api/scenarios/run", json={"title": "x"})
        _error(response, 429, "too_many_requests")
        assert int(response.headers["Retry-After"]) > 0


def test_concurrent_expensive_requests_of_one_client_are_bounded(
        tiny: corridor.Network, monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    import corridor.flow
    import corridor.service.middleware as service

    real = corridor.flow.assign

    def slow(network, demand, scenario=None, time_limit_s=None):
        time.sleep(0.4)
        return real(network, demand, scenario, time_limit_s)

    monkeypatch.setattr(corridor.flow, "assign", slow)
    monkeypatch.setattr(service, "MAX_HEAVY_PER_CLIENT", 2)
    demand = load_demand(FLOWS / "demand.csv", network=tiny)
    with TestClient(create_app(tiny, demand, FLOWS / "scenarios")) as client:
        bodies = [{"demand": [{"factor": 1 + i / 10, "assumption": "x"}]} for i in range(5)]
        with ThreadPoolExecutor(5) as pool:
            codes = list(pool.map(lambda b: client.post("/api/scenarios/run",
                                                        json=b).status_code, bodies))
    assert codes.count(200) >= 2 and codes.count(429) >= 1, codes
    assert set(codes) <= {200, 429}


def test_work_over_its_time_budget_answers_503(tiny: corridor.Network) -> None:
    demand = load_demand(FLOWS / "demand.csv", network=tiny)
    client = TestClient(create_app(tiny, demand, FLOWS / "scenarios", budget_s=1e-9))
    for response in (client.get("/api/flows"), client.get("/api/critical"),
                     client.post("/api/scenarios/run", json={"title": "t"})):
        body = _error(response, 503, "time_limit")
        assert "time budget" in body["message"] and "Retry-After" in response.headers


def test_titles_do_not_split_the_cache_of_posted_scenarios(client: TestClient) -> None:
    engine = client.app.state.engine
    before = len(engine._cache)
    change = [{"corridor": "Pipe", "assumption": "x"}]
    for title in ("one", "two", "three"):
        assert client.post("/api/scenarios/run", json={"title": title, "close": change}
                           ).status_code == 200
    assert len(engine._cache) <= before + 1


@pytest.mark.parametrize(("body", "field"), [
    ({"year": 10 ** 400}, "year"),
    ({"demand": [{"origin": "a", "destination": "z", "commodity": "container",
                  "t_per_year": 5, "year": "soon", "assumption": "x"}]}, "demand[1].year"),
    ({"multiply_cost": [{"mode": "rail", "factor": 1e308, "assumption": "x"}]},
     "multiply_cost[1].factor"),
    ({"multiply_cost": [{"mode": "rail", "factor": 10 ** 400, "assumption": "x"}]},
     "multiply_cost[1].factor"),
    ({"add_link": [{"link_id": "n", "from_node_id": "a", "to_node_id": "z", "directed": 0,
                    "mode": "road", "length_km": 1e308, "source_id": "hand",
                    "assumption": "x"}]}, "add_link[1].length_km"),
    ({"scale_capacity": [{"link": "ab", "capacity_t_per_year": 1e300, "assumption": "x"}]},
     "scale_capacity[1].capacity_t_per_year"),
])
def test_posted_numbers_out_of_range_are_422_naming_the_field(client: TestClient, body: dict,
                                                              field: str) -> None:
    response = client.post("/api/scenarios/run", json=body)
    error = _error(response, 422, "data_error")
    assert error["field"] == field
