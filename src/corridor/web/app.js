/* Corridor web page: plain JavaScript over the JSON API, Leaflet served locally, no build step. */
"use strict";

const MODE_COLOURS = {
  rail: "#1f4e79", road: "#7f6000", sea: "#2e86c1", ferry: "#17a589",
  oil_pipeline: "#6c3483", gas_pipeline: "#c2185b", transfer: "#999999",
};
const MODE_DASH = { road: "2 4", sea: "6 6", ferry: "4 4" };
const ROUTE_COLOURS = ["#d35400", "#8e44ad", "#16a085", "#c0392b", "#2c3e50", "#f39c12",
  "#27ae60", "#7f8c8d", "#e84393", "#0984e3"];

const state = { map: null, network: null, routes: null, flows: null, selected: null };

function $(id) { return document.getElementById(id); }

function esc(text) {
  return String(text ?? "").replace(/[&<>"']/g, (c) => ({
    "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}

function fmt(value, digits = 1) {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  return Number(value).toLocaleString("en-US", {
    minimumFractionDigits: digits, maximumFractionDigits: digits });
}

async function api(path, options) {
  const response = await fetch(path, options);
  const body = await response.json().catch(() => ({ error: "bad_response", message: response.statusText }));
  if (!response.ok) {
    let message = body.message || response.statusText;
    if (body.suggestions && body.suggestions.length) message += ` (did you mean: ${body.suggestions.join(", ")}?)`;
    const error = new Error(message);
    error.body = body;
    throw error;
  }
  return body;
}

/* -- map ---------------------------------------------------------------------------------- */

function initMap() {
  state.map = L.map("map", { zoomSnap: 0.25, worldCopyJump: false, preferCanvas: false })
    .setView([44, 55], 3.5);
  state.map.attributionControl.addAttribution("Basemap: Natural Earth via world-atlas");
  state.layers = {
    basemap: L.layerGroup().addTo(state.map),
    network: L.layerGroup().addTo(state.map),
    flows: L.layerGroup().addTo(state.map),
    routes: L.layerGroup().addTo(state.map),
    projects: L.layerGroup().addTo(state.map),
    nodes: L.layerGroup().addTo(state.map),
  };
  L.control.layers(null, {
    "Country outlines": state.layers.basemap, "Network": state.layers.network,
    "Scenario flows": state.layers.flows, "Routes": state.layers.routes, "Places": state.layers.nodes,
  }, { position: "topright" }).addTo(state.map);
  const legend = L.control({ position: "bottomright" });
  legend.onAdd = () => {
    const div = L.DomUtil.create("div", "legend");
    div.innerHTML = Object.entries(MODE_COLOURS).filter(([m]) => m !== "transfer")
      .map(([m, c]) => `<div><i style="background:${c}"></i>${m.replace("_", " ")}</div>`).join("")
      + '<div><i style="background:#c0392b"></i>closed</div><div><i style="background:#e67e22;height:6px"></i>saturated</div>';
    return div;
  };
  legend.addTo(state.map);
}

async function loadBasemap() {
  const data = await api("/api/basemap");
  L.geoJSON(data, { interactive: false, style: { color: "#aab7b8", weight: 0.7, fillColor: "#fbfcfc", fillOpacity: 1 } })
    .addTo(state.layers.basemap);
}

async function loadNetwork() {
  const data = await api("/api/network");
  state.network = data;
  const links = { type: "FeatureCollection", features: data.features.filter((f) => f.properties.feature === "link") };
  const nodes = { type: "FeatureCollection", features: data.features.filter((f) => f.properties.feature === "node") };
  const layer = L.geoJSON(links, {
    style: (f) => ({
      color: MODE_COLOURS[f.properties.mode] || "#555", weight: 1.5,
      opacity: f.properties.status === "operating" ? 0.55 : 0.25,
      dashArray: MODE_DASH[f.properties.mode],
    }),
    onEachFeature: (f, l) => l.bindTooltip(
      `${esc(f.properties.id)} · ${esc(f.properties.mode)} · ${esc(f.properties.corridor || "–")} · ${esc(f.properties.status)}`
      + (f.properties.capacity ? ` · cap ${fmt(f.properties.capacity / 1e6)} Mt/yr` : "")),
  }).addTo(state.layers.network);
  L.geoJSON(nodes, {
    pointToLayer: (f, latlng) => L.circleMarker(latlng, { radius: 3, color: "#34495e", weight: 1, fillOpacity: 0.8 }),
    onEachFeature: (f, l) => l.bindTooltip(`${esc(f.properties.name)} / ${esc(f.properties.name_ru)} (${esc(f.properties.country)})`),
  }).addTo(state.layers.nodes);
  const bounds = layer.getBounds();
  if (bounds.isValid()) state.map.fitBounds(bounds, { padding: [20, 20] });
}

/* -- place search ------------------------------------------------------------------------- */

function setupPicker(name) {
  const input = $(name);
  const list = $(`${name}-suggest`);
  let timer = null;
  let active = -1;
  const close = () => { list.classList.remove("open"); list.innerHTML = ""; active = -1; };
  const choose = (li) => {
    input.value = li.dataset.name;
    input.dataset.id = li.dataset.id;
    close();
  };
  input.addEventListener("input", () => {
    delete input.dataset.id;
    clearTimeout(timer);
    const q = input.value.trim();
    if (!q) { close(); return; }
    timer = setTimeout(async () => {
      try {
        const data = await api(`/api/places?q=${encodeURIComponent(q)}&limit=12`);
        const items = data.places.map((p) => `<li role="option" data-id="${esc(p.id)}" data-name="${esc(p.name)}">`
          + `${esc(p.name)} <span class="ru">${esc(p.name_ru || "")} · ${esc(p.country)} · ${esc(p.kind.replace("_", " "))}</span></li>`);
        if (!items.length && data.suggestions.length) {
          items.push(...data.suggestions.map((s) => `<li role="option" data-id="" data-name="${esc(s)}">did you mean ${esc(s)}?</li>`));
        }
        list.innerHTML = items.join("");
        list.classList.toggle("open", items.length > 0);
        active = -1;
      } catch (e) { close(); }
    }, 120);
  });
  input.addEventListener("keydown", (event) => {
    const items = [...list.querySelectorAll("li")];
    if (!items.length) return;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      active = (active + (event.key === "ArrowDown" ? 1 : -1) + items.length) % items.length;
      items.forEach((li, i) => li.classList.toggle("active", i === active));
    } else if (event.key === "Enter" && active >= 0) {
      event.preventDefault();
      choose(items[active]);
    } else if (event.key === "Escape") { close(); }
  });
  list.addEventListener("mousedown", (event) => {
    const li = event.target.closest("li");
    if (li) { event.preventDefault(); choose(li); }
  });
  input.addEventListener("blur", () => setTimeout(close, 150));
}

/* -- routes ------------------------------------------------------------------------------- */

function avoidList() {
  const typed = $("avoid").value.split(",").map((s) => s.trim().toUpperCase()).filter(Boolean);
  const ticked = [...document.querySelectorAll("#avoid-quick input:checked")].map((i) => i.value);
  return [...new Set([...typed, ...ticked])];
}

function legTable(route) {
  const rows = route.legs.map((leg) => `<tr><td>${esc(leg.from_name)} → ${esc(leg.to_name)}</td>`
    + `<td>${esc(leg.mode)}${leg.border_crossing ? " ⇄" : ""}</td><td class="num">${fmt(leg.length_km, 0)}</td>`
    + `<td class="num">${fmt(leg.days)}</td><td class="num">${fmt(leg.cost_usd_per_t)}</td><td class="num">${fmt(leg.co2_kg_per_t)}</td></tr>`);
  return `<table class="legs"><thead><tr><th>leg</th><th>mode</th><th class="num">km</th><th class="num">days</th>`
    + `<th class="num">USD/t</th><th class="num">kg CO2/t</th></tr></thead><tbody>${rows.join("")}</tbody></table>`;
}

function drawRoutes(routes, selected) {
  state.layers.routes.clearLayers();
  routes.forEach((route, i) => {
    const isSelected = i === selected;
    const layer = L.geoJSON(route.geojson, {
      style: { color: ROUTE_COLOURS[i % ROUTE_COLOURS.length], weight: isSelected ? 6 : 3,
               opacity: isSelected ? 0.95 : 0.5, className: `route-line route-${route.rank}` },
      onEachFeature: (f, l) => l.bindTooltip(`#${route.rank} ${esc(f.properties.from_name)} → ${esc(f.properties.to_name)}`
        + ` · ${esc(f.properties.mode)} · ${fmt(f.properties.length_km, 0)} km · ${fmt(f.properties.days)} d`
        + ` · $${fmt(f.properties.cost_usd_per_t)}/t`),
    }).addTo(state.layers.routes);
    if (isSelected) {
      layer.bringToFront();
      const bounds = layer.getBounds();
      if (bounds.isValid()) state.map.fitBounds(bounds, { padding: [40, 40], maxZoom: 6 });
    }
  });
}

function showRoutes(data) {
  state.routes = data.routes;
  const html = data.routes.map((r, i) => `<div class="route" data-index="${i}" data-cost="${r.cost_usd_per_t}" style="--c:${ROUTE_COLOURS[i % ROUTE_COLOURS.length]}">`
    + `<h3>#${r.rank} · $${fmt(r.cost_usd_per_t, 0)}/t · ${fmt(r.days)} days · ${fmt(r.co2_kg_per_t, 0)} kg CO2/t · ${fmt(r.length_km, 0)} km</h3>`
    + `<div class="muted small">${esc(r.countries.join(" → "))} · ${r.border_crossings.length} border crossings</div>`
    + (r.passage_names && r.passage_names.length
      ? `<div class="muted small passages">passes: ${esc(r.passage_names.join(", "))}</div>` : "")
    + legTable(r) + "</div>");
  $("route-list").innerHTML = html.join("");
  const select = (i) => {
    document.querySelectorAll(".route").forEach((el) => el.classList.toggle("selected", Number(el.dataset.index) === i));
    drawRoutes(state.routes, i);
  };
  document.querySelectorAll(".route").forEach((el) => el.addEventListener("click", () => select(Number(el.dataset.index))));
  select(0);
}

async function submitRoute(event) {
  event.preventDefault();
  const origin = $("origin");
  const destination = $("destination");
  const params = new URLSearchParams({
    origin: origin.dataset.id || origin.value.trim(),
    destination: destination.dataset.id || destination.value.trim(),
    commodity: $("commodity").value, optimize: $("optimize").value,
    alternatives: $("alternatives").value || "1",
  });
  if ($("similar").checked) params.set("max_shared", "1");
  if ($("service").value) params.set("service", $("service").value);
  if ($("month").value.trim()) params.set("month", $("month").value.trim());
  const avoid = avoidList();
  if (avoid.length) params.set("avoid", avoid.join(","));
  const avoidModes = [...document.querySelectorAll("#avoid-modes input:checked")].map((i) => i.value);
  if (avoidModes.length) params.set("avoid_modes", avoidModes.join(","));
  const passages = [...document.querySelectorAll("#avoid-passages input:checked")].map((i) => i.value);
  if ($("avoid-post").value) passages.push($("avoid-post").value);
  if (passages.length) params.set("avoid_passages", passages.join(","));
  $("route-error").textContent = "";
  $("route-list").innerHTML = '<p class="muted">routing…</p>';
  $("route-submit").disabled = true;
  try {
    showRoutes(await api(`/api/route?${params}`));
  } catch (e) {
    $("route-list").innerHTML = "";
    state.layers.routes.clearLayers();
    $("route-error").textContent = e.message;
  } finally {
    $("route-submit").disabled = false;
  }
}

/* -- scenarios and flows ------------------------------------------------------------------ */

function card(label, value, unit, cls = "") {
  return `<div class="card ${cls}"><span class="muted small">${esc(label)}</span><b>${value} <span class="small">${esc(unit)}</span></b></div>`;
}

function drawFlows(geojson) {
  state.layers.flows.clearLayers();
  const flows = geojson.features.map((f) => f.properties.flow || 0);
  const largest = Math.max(1, ...flows);
  L.geoJSON(geojson, {
    style: (f) => {
      const p = f.properties;
      if (p.closed) return { color: "#c0392b", weight: 3, dashArray: "5 5", opacity: 0.9, className: "flow-line closed" };
      return { color: p.saturated ? "#e67e22" : (MODE_COLOURS[p.mode] || "#555"),
               weight: 1.5 + 14 * Math.sqrt((p.flow || 0) / largest), opacity: 0.6, lineCap: "round",
               className: `flow-line${p.saturated ? " saturated" : ""}` };
    },
    onEachFeature: (f, l) => {
      const p = f.properties;
      l.bindTooltip(`${esc(p.id)} · ${fmt((p.flow || 0) / 1e6, 2)} Mt/yr`
        + (p.utilisation !== null ? ` · ${fmt(100 * p.utilisation, 0)}% of capacity` : "")
        + (p.saturated ? " · saturated" : "") + (p.closed ? " · CLOSED" : ""));
    },
  }).addTo(state.layers.flows);
}

function drawStranded(stranded) {
  const where = {};
  for (const row of stranded) where[row.origin] = (where[row.origin] || 0) + row.stranded_t;
  const nodes = Object.fromEntries((state.network ? state.network.features : [])
    .filter((f) => f.properties.feature === "node").map((f) => [f.properties.id, f]));
  for (const [id, tonnes] of Object.entries(where)) {
    const node = nodes[id];
    if (!node) continue;
    const [lon, lat] = node.geometry.coordinates;
    L.circleMarker([lat, lon], { radius: 4 + 3 * Math.sqrt(tonnes / 1e6), color: "#c0392b",
      weight: 2, fillOpacity: 0.25, className: "stranded-marker" })
      .bindTooltip(`${esc(node.properties.name)}: ${fmt(tonnes / 1e6, 2)} Mt/yr stranded`)
      .addTo(state.layers.flows);
  }
}

async function showFlows() {
  const name = $("scenario").value;
  $("flows-summary").innerHTML = '<p class="muted">assigning flows…</p>';
  try {
    const data = await api(`/api/flows?scenario=${encodeURIComponent(name)}`);
    const t = data.totals;
    const stranded = data.stranded.slice(0, 8).map((s) => `<tr><td>${esc(s.origin)} → ${esc(s.destination)}</td>`
      + `<td>${esc(s.commodity)}${s.allowed_modes ? ` (${esc(s.allowed_modes)})` : ""}</td><td class="num">${fmt(s.stranded_t / 1e6, 2)}</td></tr>`).join("");
    const saturated = data.saturated.slice(0, 8).map((s) => `<tr><td>${esc(s.link_id)}</td><td>${esc(s.mode)}</td>`
      + `<td class="num">${fmt(s.flow_t_per_year / 1e6, 2)}</td><td class="num">${fmt(s.shadow_price_usd_per_t, 1)}</td></tr>`).join("");
    $("flows-summary").innerHTML = `<div class="cards" id="flows-cards">`
      + card("Delivered", fmt(t.delivered_t / 1e6), "Mt/yr")
      + card("Stranded", fmt(t.stranded_t / 1e6, 2), "Mt/yr", t.stranded_t > 0 ? "bad" : "")
      + (t.stranded_value_usd > 0 ? card("Stranded cargo value", fmt(t.stranded_value_usd / 1e9, 1), "USD bn/yr", "bad") : "")
      + card("Transport per delivered tonne", fmt(t.cost_usd_per_t, 1), "USD/t")
      + card("Transport cost", fmt(t.cost_usd / 1e9, 2), "USD bn")
      + card("Average time", fmt(t.avg_days), "days")
      + card("CO2", fmt(t.co2_t / 1e6, 2), "Mt") + card("Tonne-km", fmt(t.tonne_km / 1e9), "bn") + "</div>"
      + (stranded ? `<h3 class="small">Stranded</h3><table><thead><tr><th>OD</th><th>commodity</th><th class="num">Mt</th></tr></thead><tbody>${stranded}</tbody></table>` : '<p class="small">Nothing stranded.</p>')
      + (saturated ? `<h3 class="small">Saturated links</h3><table><thead><tr><th>link</th><th>mode</th><th class="num">Mt</th><th class="num">USD/t shadow</th></tr></thead><tbody>${saturated}</tbody></table>` : "");
    drawFlows(data.geojson);
    drawStranded(data.stranded);
  } catch (e) {
    $("flows-summary").innerHTML = `<p class="error">${esc(e.message)}</p>`;
  }
}

function showTab(name) {
  document.querySelectorAll("#tabs [role=tab]").forEach((tab) => {
    tab.setAttribute("aria-selected", String(tab.dataset.tab === name));
  });
  document.querySelectorAll("section[data-tab]").forEach((section) => {
    section.hidden = section.dataset.tab !== name;
  });
}

async function loadRisks() {
  const data = await api("/api/risks");
  $("invest-risk").innerHTML = '<option value="">under the scenario</option>'
    + data.risks.map((r) => `<option value="${esc(r.name)}" title="${esc(r.title)}">over ${esc(r.name)} draws</option>`).join("");
}

async function loadScenarios() {
  const list = await api("/api/scenarios");
  state.scenarios = list;
  const options = list.map((s) => `<option value="${esc(s.name)}">${esc(s.name)}</option>`).join("");
  for (const id of ["scenario", "compare-base", "compare-other", "invest-scenario"]) $(id).innerHTML = options;
  const other = list.find((s) => s.name !== "baseline");
  if (other) $("compare-other").value = other.name;
  const describe = () => {
    const s = list.find((x) => x.name === $("scenario").value);
    $("scenario-description").textContent = s ? `${s.title}. ${s.description || ""}` : "";
  };
  $("scenario").addEventListener("change", describe);
  describe();
}

async function compare() {
  const base = $("compare-base").value;
  const other = $("compare-other").value;
  $("compare-result").innerHTML = '<p class="muted">comparing…</p>';
  try {
    const data = await api(`/api/compare?base=${encodeURIComponent(base)}&other=${encodeURIComponent(other)}`);
    const rows = [["Delivered (Mt)", "delivered_t", 1e-6], ["Stranded (Mt)", "stranded_t", 1e-6],
      ["Stranded cargo value (USD bn/yr)", "stranded_value_usd", 1e-9],
      ["Transport per delivered tonne (USD/t)", "cost_usd_per_t", 1],
      ["Transport cost of delivered cargo (USD bn)", "cost_usd", 1e-9], ["Avg days", "avg_days", 1], ["CO2 (Mt)", "co2_t", 1e-6],
      ["Tonne-km (bn)", "tonne_km", 1e-9]].map(([label, key, k]) => {
      const d = data.totals.delta[key] * k;
      return `<tr><td>${label}</td><td class="num">${fmt(data.totals.base[key] * k, 2)}</td>`
        + `<td class="num">${fmt(data.totals.other[key] * k, 2)}</td><td class="num ${d > 0 ? "up" : "down"}">${d > 0 ? "+" : ""}${fmt(d, 2)}</td></tr>`;
    }).join("");
    let corridors = "";
    if (data.detail && data.detail.corridors.length) {
      corridors = "<h3 class=\"small\">Tonnes by corridor</h3><table><thead><tr><th>corridor</th><th class=\"num\">base Mt</th><th class=\"num\">other Mt</th></tr></thead><tbody>"
        + data.detail.corridors.slice(0, 10).map((c) => `<tr><td>${esc(c.corridor)}</td><td class="num">${fmt(c.base_t / 1e6)}</td><td class="num">${fmt(c.other_t / 1e6)}</td></tr>`).join("")
        + "</tbody></table>";
    }
    $("compare-result").innerHTML = `<table id="compare-table"><thead><tr><th></th><th class="num">${esc(base)}</th>`
      + `<th class="num">${esc(other)}</th><th class="num">change</th></tr></thead><tbody>${rows}</tbody></table>${corridors}`;
  } catch (e) {
    $("compare-result").innerHTML = `<p class="error">${esc(e.message)}</p>`;
  }
}

async function loadPassages() {
  const { passages } = await api("/api/passages");
  const waters = passages.filter((p) => ["strait", "canal", "sea_crossing"].includes(p.kind));
  $("avoid-passages").insertAdjacentHTML("beforeend", waters.map((p) =>
    `<label><input type="checkbox" value="${esc(p.passage_id)}"> ${esc(p.name)}</label>`).join(""));
  const posts = passages.filter((p) => ["border_post", "gauge_change"].includes(p.kind));
  $("avoid-post").insertAdjacentHTML("beforeend", posts.map((p) =>
    `<option value="${esc(p.passage_id)}">${esc(p.name)}</option>`).join(""));
}

/* -- investments and partners ------------------------------------------------------------- */

function drawProject(geojson) {
  state.layers.projects.clearLayers();
  if (!geojson) return;
  const layer = L.geoJSON(geojson, {
    style: { color: "#8e44ad", weight: 6, opacity: 0.9, className: "project-line" },
    onEachFeature: (f, l) => l.bindTooltip(`project link ${esc(f.properties.id)}`),
  }).addTo(state.layers.projects);
  const bounds = layer.getBounds();
  if (bounds.isValid()) state.map.fitBounds(bounds, { padding: [60, 60], maxZoom: 6 });
}

async function appraiseProject(entry) {
  $("invest-error").textContent = "";
  drawProject(entry.geojson);
  $("invest-result").innerHTML = '<p class="muted">appraising…</p>';
  try {
    const scenario = $("invest-scenario").value || "baseline";
    const data = await api(`/api/appraise/${encodeURIComponent(entry.id)}?scenario=${encodeURIComponent(scenario)}`);
    const c = data.cases[0];
    $("invest-result").innerHTML = `<div class="cards" id="appraisal-cards">`
      + card("benefit a year", fmt(c.benefit_usd / 1e6, 1), "m USD")
      + card("NPV at " + fmt(data.rate * 100, 0) + " %", fmt(c.npv_usd / 1e6, 0), "m USD", c.npv_usd < 0 ? "bad" : "")
      + card("BCR", c.bcr === null ? "–" : fmt(c.bcr, 2), "")
      + `</div><p class="muted small">${esc(entry.title)} under ${esc(data.scenario)}</p>`;
  } catch (e) {
    $("invest-result").innerHTML = "";
    $("invest-error").textContent = e.message;
  }
}

async function listLedger() {
  $("invest-error").textContent = "";
  const partner = $("ledger-partner").value.trim();
  const data = await api(`/api/ledger${partner ? `?partner=${encodeURIComponent(partner)}` : ""}`);
  const rows = data.entries.map((e, i) => `<tr data-index="${i}" class="${e.modelled ? "modelled" : ""}">`
    + `<td>${esc(e.entry)}</td><td>${esc(e.title)}</td><td>${esc(e.countries)}</td><td>${esc(e.status)}</td>`
    + `<td class="num">${e.amount_usd === null ? "–" : fmt(e.amount_usd / 1e6, 0)}</td>`
    + `<td>${e.modelled ? '<button type="button" class="appraise">appraise</button>' : ""}</td></tr>`);
  $("ledger-list").innerHTML = `<table class="legs" id="ledger-table"><thead><tr><th>entry</th><th>title</th><th>countries</th>`
    + `<th>status</th><th class="num">m USD</th><th></th></tr></thead><tbody>${rows.join("")}</tbody></table>`;
  document.querySelectorAll("#ledger-table button.appraise").forEach((b) => b.addEventListener("click", (event) => {
    const index = Number(event.target.closest("tr").dataset.index);
    appraiseProject(data.entries[index]);
  }));
}

async function showPortfolio() {
  $("invest-error").textContent = "";
  $("invest-result").innerHTML = '<p class="muted">appraising and choosing…</p>';
  try {
    const scenario = $("invest-scenario").value || "baseline";
    const budget = Number($("invest-budget").value || 0) * 1e9;
    const risk = $("invest-risk").value;
    const over = risk ? `&risk=${encodeURIComponent(risk)}&draws=20` : "";
    if (risk) $("invest-result").innerHTML = '<p class="muted">appraising over 20 risk draws per project (15 s or so)…</p>';
    const data = await api(`/api/invest?budget_usd=${budget}&scenario=${encodeURIComponent(scenario)}${over}`);
    const largest = Math.max(1, ...data.frontier.map((f) => Math.abs(f.value)));
    const bars = data.frontier.map((f) => `<div class="bar-row"><span class="small">${fmt(f.budget_usd / 1e9, 1)} bn</span>`
      + `<span class="bar" style="width:${Math.round(100 * Math.abs(f.value) / largest)}%"></span>`
      + `<span class="small">${fmt(f.value / 1e6, 0)} m · ${esc(f.projects || "none")}</span></div>`);
    const rows = data.candidates.map((c) => `<tr class="${c.chosen ? "chosen" : ""}"><td>${esc(c.project_id)}</td>`
      + `<td class="num">${fmt(c.capex_usd / 1e6, 0)}</td><td class="num">${fmt(c.npv_usd / 1e6, 0)}</td><td>${esc(c.why)}</td></tr>`);
    $("invest-result").innerHTML = `<div id="frontier"><b class="small">Frontier: budget against NPV</b>${bars.join("")}</div>`
      + `<table class="legs" id="portfolio-table"><thead><tr><th>project</th><th class="num">capital m USD</th>`
      + `<th class="num">NPV m USD</th><th>why</th></tr></thead><tbody>${rows.join("")}</tbody></table>`;
  } catch (e) {
    $("invest-result").innerHTML = "";
    $("invest-error").textContent = e.message;
  }
}

async function showPartners() {
  $("invest-error").textContent = "";
  $("invest-result").innerHTML = '<p class="muted">computing…</p>';
  try {
    const scenario = $("invest-scenario").value || "baseline";
    const data = await api(`/api/partners?scenario=${encodeURIComponent(scenario)}`);
    const rows = data.summary.filter((r) => r.detail).map((r) => `<tr><td>${esc(r.republic)}</td><td>${esc(r.dimension)}</td>`
      + `<td>${esc(r.detail)}</td><td class="num">${fmt(r.coverage_pct, 0)}</td>`
      + `<td class="num">${fmt(r.hhi_low, 0)}${Math.abs(r.hhi_high - r.hhi_low) >= 1 ? "–" + fmt(r.hhi_high, 0) : ""}</td>`
      + `<td>${esc(r.top_partner)} ${fmt(r.top_share_pct, 0)} %</td></tr>`);
    $("invest-result").innerHTML = `<table class="legs" id="partners-table"><thead><tr><th>republic</th><th>dimension</th>`
      + `<th>table</th><th class="num">cover %</th><th class="num">HHI</th><th>largest</th></tr></thead>`
      + `<tbody>${rows.join("")}</tbody></table>`;
  } catch (e) {
    $("invest-result").innerHTML = "";
    $("invest-error").textContent = e.message;
  }
}

/* -- start -------------------------------------------------------------------------------- */

async function main() {
  initMap();
  setupPicker("origin");
  setupPicker("destination");
  $("route-form").addEventListener("submit", submitRoute);
  $("flows-submit").addEventListener("click", showFlows);
  $("compare-submit").addEventListener("click", compare);
  $("ledger-submit").addEventListener("click", () => listLedger().catch((e) => { $("invest-error").textContent = e.message; }));
  $("partners-submit").addEventListener("click", showPartners);
  $("invest-submit").addEventListener("click", showPortfolio);
  document.querySelectorAll("#tabs [role=tab]").forEach((tab) => tab.addEventListener("click", () => showTab(tab.dataset.tab)));
  const health = await api("/api/health");
  $("commodity").innerHTML = health.commodities.map((c) => `<option>${esc(c)}</option>`).join("");
  await Promise.all([loadBasemap().catch(() => {}), loadNetwork(), loadScenarios(), loadRisks().catch(() => {}),
                     loadPassages()]);
  document.body.dataset.ready = "1";
}

main().catch((e) => { $("route-error").textContent = `Could not start: ${e.message}`; });
