"""Request and response models of the API (pydantic): what the OpenAPI schema shows."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

# -- request / response models ----------------------------------------------------------------


class ErrorBody(BaseModel):
    """Every error response: a kind, a human message and kind-specific details."""

    model_config = ConfigDict(extra="allow")
    error: str = Field(description="unknown_place, no_route, invalid_option, data_error, "
                                   "not_found, invalid_request, too_large, unavailable")
    message: str


class Place(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str
    name: str
    name_ru: str | None = None
    country: str
    kind: str
    lon: float
    lat: float


class PlacesResponse(BaseModel):
    places: list[Place]
    suggestions: list[str] = Field(description="Close spellings when nothing matched.")


class LegModel(BaseModel):
    link_id: str
    from_id: str
    from_name: str
    to_id: str
    to_name: str
    mode: str
    gauge_mm: int | None
    length_km: float
    days: float
    cost_usd_per_t: float
    co2_kg_per_t: float
    country: str | None
    corridor: str | None
    border_crossing: bool


class RouteModel(BaseModel):
    model_config = ConfigDict(extra="allow")
    rank: int
    origin: str
    destination: str
    commodity: str
    objective: str
    legs: list[LegModel]
    length_km: float
    days: float
    cost_usd_per_t: float
    co2_kg_per_t: float
    countries: list[str]
    border_crossings: list[str]
    passages: list[str] = Field(default_factory=list, description=
                                "ids of the named passages the route uses, in order")
    passage_names: list[str] = Field(default_factory=list)
    geojson: dict[str, Any] = Field(description="GeoJSON FeatureCollection of the legs.")


class PassageModel(BaseModel):
    passage_id: str
    name: str
    kind: str
    links: int
    nodes: int


class PassagesResponse(BaseModel):
    passages: list[PassageModel]


class RoutesResponse(BaseModel):
    routes: list[RouteModel]


class ScenarioSummary(BaseModel):
    name: str
    title: str
    description: str
    inherits: str | None
    actions: int


class FlowsResponse(BaseModel):
    scenario: str
    totals: dict[str, float | None]
    stranded: list[dict[str, Any]]
    stranded_by_commodity: list[dict[str, Any]]
    od: list[dict[str, Any]]
    link_flows: list[dict[str, Any]] = Field(description="Links with flow, largest first.")
    saturated: list[dict[str, Any]]
    geojson: dict[str, Any]
    periods: list[dict[str, Any]] | None = Field(
        None, description="One row per period when the scenario has dated changes.")


class CompareResponse(BaseModel):
    model_config = ConfigDict(extra="allow")
    base: str
    other: str
    totals: dict[str, dict[str, float | None]]
    detail: dict[str, list[dict[str, Any]]] | None = None


class DependencyResponse(BaseModel):
    scenario: str
    shares: list[dict[str, Any]]
    hhi: list[dict[str, Any]]


class CriticalResponse(BaseModel):
    scenario: str
    links: list[dict[str, Any]]


class CalibrationResponse(BaseModel):
    scenario: str
    summary: list[dict[str, Any]]
    observations: list[dict[str, Any]]


ERRORS = {status: {"model": ErrorBody} for status in (404, 413, 422)}
