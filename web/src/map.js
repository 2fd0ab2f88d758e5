// The map page: who is signed in decides the view (carrier, municipality, prefecture; admins get the
// carrier's). The basemap is offline: prefecture outlines from the build, town halls and major stations
// from the API; an online basemap only when the server's KYODO_BASEMAP names one.
import { AttributionControl, Map, NavigationControl, ScaleControl } from "./maplibre-gl.mjs";
import { api, query, setCsrf } from "./api.js";
import { applyI18n, switchLanguage, t } from "./i18n.js";

export const AVAILABILITY_COLOURS = {
  offered: "#1a7f37", on_request: "#0969da", partly_available: "#bf8700", occupied: "#cf222e", reserved: "#6e7781",
};
const EMPTY = { type: "FeatureCollection", features: [] };

export function toast(text) {
  const el = document.getElementById("toast");
  el.textContent = text;
  setTimeout(() => { if (el.textContent === text) el.textContent = ""; }, 4000);
}

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (value !== undefined && value !== null && value !== false) node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) if (child !== null && child !== undefined) node.append(child);
  return node;
}

function baseStyle() {
  const online = document.body.dataset.basemap;
  const sources = {
    japan: { type: "geojson", data: "/assets/basemap/japan.geojson", attribution: "Natural Earth" },
    towns: { type: "geojson", data: EMPTY },
    stations: { type: "geojson", data: EMPTY },
  };
  const layers = [{ id: "sea", type: "background", paint: { "background-color": "#cfe3f2" } },
    { id: "land", type: "fill", source: "japan", paint: { "fill-color": "#f6f4ee" } }];
  if (online) {
    const credit = document.body.dataset.basemapCredit;
    sources.online = { type: "raster", tiles: [online], tileSize: 256, maxzoom: 18, attribution: credit };
    layers.push({ id: "online", type: "raster", source: "online" });
  }
  layers.push(
    { id: "prefecture-lines", type: "line", source: "japan",
      paint: { "line-color": "#8a7f6a", "line-width": ["interpolate", ["linear"], ["zoom"], 4, 0.6, 10, 1.6] } },
    { id: "towns", type: "circle", source: "towns", minzoom: 7,
      paint: { "circle-radius": 3, "circle-color": "#444", "circle-stroke-color": "#fff", "circle-stroke-width": 1 } },
    { id: "town-labels", type: "symbol", source: "towns", minzoom: 8,
      layout: { "text-field": ["get", "name"], "text-size": 12, "text-offset": [0, 0.9], "text-anchor": "top",
                "text-font": ["sans-serif"] },
      paint: { "text-color": "#333", "text-halo-color": "#fff", "text-halo-width": 1.5 } },
    { id: "stations", type: "circle", source: "stations", minzoom: 9,
      paint: { "circle-radius": 4, "circle-color": "#fff", "circle-stroke-color": "#222", "circle-stroke-width": 2 } },
    { id: "station-labels", type: "symbol", source: "stations", minzoom: 11,
      layout: { "text-field": ["get", "name"], "text-size": 12, "text-offset": [0, -0.9], "text-anchor": "bottom",
                "text-font": ["sans-serif"] },
      paint: { "text-color": "#111", "text-halo-color": "#fff", "text-halo-width": 1.5 } },
  );
  return { version: 8, sources, layers };
}

// Asset tiles from /v1/tiles/assets: single assets from zoom 12, cells with counts below. Category and
// availability are filtered by the server (so cells count only what matches); height, power and fibre are
// properties of each single asset and filtered here, with the same rules as /v1/assets.
export function addAssetLayers(map, tileQuery = "") {
  const url = `${location.origin}/v1/tiles/assets/{z}/{x}/{y}.pbf${tileQuery ? `?${tileQuery}` : ""}`;
  if (map.getSource("assets")) {
    map.getSource("assets").setTiles([url]);
    return;
  }
  map.addSource("assets", { type: "vector", tiles: [url], minzoom: 4, maxzoom: 16 });
  const colour = ["match", ["get", "availability"], ...Object.entries(AVAILABILITY_COLOURS).flat(), "#888"];
  map.addLayer({ id: "asset-cells", type: "circle", source: "assets", "source-layer": "assets",
    filter: ["has", "point_count"],
    paint: { "circle-color": colour, "circle-opacity": 0.55, "circle-stroke-color": "#fff", "circle-stroke-width": 0.5,
             "circle-radius": ["interpolate", ["linear"], ["sqrt", ["get", "point_count"]], 1, 2.5, 10, 7, 40, 16] } });
  map.addLayer({ id: "asset-points", type: "circle", source: "assets", "source-layer": "assets",
    filter: ["!", ["has", "point_count"]],
    paint: { "circle-color": colour, "circle-radius": ["case", ["==", ["get", "coarse"], true], 9, 6],
             "circle-opacity": ["case", ["==", ["get", "coarse"], true], 0.35, 0.9],
             "circle-stroke-color": "#fff", "circle-stroke-width": 1.5 } });
  map.on("click", "asset-cells", (e) => map.easeTo({ center: e.lngLat, zoom: Math.min(map.getZoom() + 2.5, 12.5) }));
  for (const layer of ["asset-cells", "asset-points"]) {
    map.on("mouseenter", layer, () => { map.getCanvas().style.cursor = "pointer"; });
    map.on("mouseleave", layer, () => { map.getCanvas().style.cursor = ""; });
  }
  const legend = document.getElementById("legend");
  legend.replaceChildren(...Object.entries(AVAILABILITY_COLOURS).map(([name, c]) => {
    const dot = el("i");
    dot.style.background = c;
    return el("span", {}, dot, t(name));
  }));
}

// The same comparisons as /v1/assets (registry/assets/queries.py): a minimum drops an asset whose value is
// unknown (SQL's null >= x is not true), a maximum likewise, so the map and the list agree on every asset.
const atLeast = (value, expression) => (value === "" || value === undefined || value === null ? null
  : [">=", ["to-number", ["coalesce", expression, -1]], Number(value)]);

export function pointFilter(f) {
  const all = ["all", ["!", ["has", "point_count"]]];
  const free = ["-", ["to-number", ["get", "max_tenants"]], ["to-number", ["get", "current_tenants"]]];
  for (const c of [atLeast(f.min_height, ["get", "height_m"]),
    atLeast(f.min_mountable_height, ["get", "mountable_height_m"]),
    atLeast(f.min_spare_load, ["get", "spare_load_kg"]), atLeast(f.min_free_slots, free)]) if (c) all.push(c);
  if (f.power) all.push(["==", ["get", "power"], f.power]);
  if (f.max_fibre_distance !== "" && f.max_fibre_distance !== undefined) {
    all.push(["<=", ["to-number", ["coalesce", ["get", "fibre_distance_m"], 1e12]], Number(f.max_fibre_distance)]);
  }
  return all;
}

async function loadPlaces(map) {
  // Town halls of every municipality (reference data) and the major stations among the priority areas.
  const towns = await api("/v1/municipalities?limit=2000");
  const features = towns.items.filter((m) => m.town_hall).map((m) => ({
    type: "Feature", geometry: m.town_hall, properties: { name: m.name, code: m.code, prefecture: m.prefecture_code },
  }));
  map.getSource("towns").setData({ type: "FeatureCollection", features });
  const areas = await api("/v1/priority-areas?kind=major_station&limit=1000").catch(() => EMPTY);
  const stations = (areas.features ?? []).map((f) => ({
    type: "Feature", geometry: { type: "Point", coordinates: centre(f.geometry) }, properties: { name: f.properties.name },
  }));
  map.getSource("stations").setData({ type: "FeatureCollection", features: stations });
  const list = document.getElementById("places");
  const names = new globalThis.Map();
  for (const f of [...features, ...stations]) names.set(f.properties.name, f.geometry.coordinates);
  list.replaceChildren(...[...names.keys()].map((name) => el("option", { value: name })));
  document.getElementById("place-search").addEventListener("submit", (event) => {
    event.preventDefault();
    const wanted = document.getElementById("place").value.trim();
    if (!wanted) return;
    const hit = names.get(wanted) ?? [...names.entries()].find(([n]) => n.includes(wanted))?.[1];
    if (hit) map.flyTo({ center: hit, zoom: 13 });
    // The carrier's view also lists the assets whose address holds the text (it cancels the event).
    const handled = !document.dispatchEvent(new CustomEvent("kyodo:find", { detail: { text: wanted, place: hit },
                                                                         cancelable: true }));
    if (!hit && !handled) toast(`${t("search")}: ${t("none")}`);
  });
}

export function centre(geometry) {
  // The middle of a geometry's bounding box: enough to fly to an area or search near it.
  let [w, s, e, n] = [180, 90, -180, -90];
  const walk = (c) => {
    if (typeof c[0] === "number") { w = Math.min(w, c[0]); e = Math.max(e, c[0]); s = Math.min(s, c[1]); n = Math.max(n, c[1]); }
    else c.forEach(walk);
  };
  walk(geometry.coordinates);
  return [(w + e) / 2, (s + n) / 2];
}

export function bboxOf(map) {
  const b = map.getBounds();
  return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((v) => v.toFixed(6)).join(",");
}

export { api, query };

async function start() {
  applyI18n();
  const session = await api("/v1/session");
  setCsrf(session.csrf_token);
  const me = session.principal;
  document.getElementById("who").textContent = `${me.name} (${me.role} ${me.tenant_code})`;
  document.getElementById("signout").addEventListener("click", async () => {
    await api("/v1/session", { method: "DELETE" });
    location.assign("/");
  });
  const map = new Map({
    container: "map", style: baseStyle(), center: [137.5, 37.5], zoom: 4.6, minZoom: 3.5, maxZoom: 18,
    attributionControl: false,
  });
  map.addControl(new AttributionControl({ compact: false }));
  map.addControl(new NavigationControl(), "top-right");
  map.addControl(new ScaleControl(), "bottom-right");
  window.kyodoMap = map; // read by the browser tests (rendered features, projection)
  await new Promise((resolve) => map.once("load", resolve));
  loadPlaces(map).catch((error) => toast(error.message));
  const view = me.role === "municipality" ? await import("./municipality.js")
    : me.role === "prefecture" ? await import("./prefecture.js") : await import("./carrier.js");
  const rerender = await view.start(map, me);
  document.getElementById("lang").addEventListener("click", () => switchLanguage(rerender));
  document.body.dataset.ready = "true";
}

start().catch((error) => toast(error.message));
