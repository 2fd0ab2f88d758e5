// The prefecture's view: its municipalities shaded by the number of assets they opened (their polygons
// from /v1/tiles/boundaries when `registry load boundaries` loaded them; otherwise a disc at each town hall,
// coloured and sized by the count), the coverage gaps of its priority areas, and the national chart of
// assets per prefecture (/v1/stats/assets?group_by=prefecture).
import { addAssetLayers, api, centre, el } from "./map.js";
import { t } from "./i18n.js";

export async function start(map, me) {
  const panel = document.getElementById("panel");
  const number = me.tenant_code.slice(0, 2);
  const [towns, counts, national, coverage, areas] = await Promise.all([
    api(`/v1/municipalities?prefecture=${number}&limit=2000`),
    api(`/v1/stats/assets?group_by=municipality&prefecture=${number}`),
    api("/v1/stats/assets?group_by=prefecture"),
    api(`/v1/priority-areas/coverage?prefecture=${number}&distance=200`),
    api(`/v1/priority-areas?prefecture=${number}&limit=1000`),
  ]);
  const byCode = new globalThis.Map(counts.groups.map((g) => [g.key, g.count]));
  const features = towns.items.filter((m) => m.town_hall).map((m) => ({ type: "Feature", geometry: m.town_hall,
    properties: { code: m.code, name: m.name, count: byCode.get(m.code) ?? 0 } }));
  const max = Math.max(1, ...features.map((f) => f.properties.count));
  const shade = (count) => ["interpolate", ["linear"], count, 0, "#f7fbff", max / 4, "#9ecae1", max, "#08306b"];
  // The median town hall: the fitted view's centre, and the tile asked whether boundaries are loaded.
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const mid = features.length ? [median(features.map((f) => f.geometry.coordinates[0])),
    median(features.map((f) => f.geometry.coordinates[1]))] : [139.7, 35.7];
  if (await boundariesLoaded(number, mid)) {
    // The count of each code, looked up by the style (a tile carries the outline, not the count).
    const pairs = [...byCode.entries()].flat();
    const count = pairs.length ? ["match", ["get", "code"], ...pairs, 0] : 0;
    map.addSource("boundaries", { type: "vector", minzoom: 5, maxzoom: 14,
      tiles: [`${location.origin}/v1/tiles/boundaries/{z}/{x}/{y}.pbf?prefecture=${number}`] });
    map.addLayer({ id: "municipality-fill", type: "fill", source: "boundaries", "source-layer": "boundaries",
      paint: { "fill-color": shade(count), "fill-opacity": 0.75 } });
    map.addLayer({ id: "municipality-lines", type: "line", source: "boundaries", "source-layer": "boundaries",
      paint: { "line-color": "#08306b", "line-width": 0.8 } });
  } else {
    map.addSource("shade", { type: "geojson", data: { type: "FeatureCollection", features } });
    map.addLayer({ id: "municipality-shade", type: "circle", source: "shade", paint: {
      "circle-radius": ["interpolate", ["linear"], ["sqrt", ["get", "count"]], 0, 4, Math.sqrt(max), 26],
      "circle-color": shade(["get", "count"]),
      "circle-opacity": 0.8, "circle-stroke-color": "#08306b", "circle-stroke-width": 1 } });
  }
  addAssetLayers(map, `prefecture=${number}`);
  const gapIds = new Set(coverage.gaps.map((g) => g.area_id));
  map.addSource("gaps", { type: "geojson", data: { type: "FeatureCollection",
    features: areas.features.filter((f) => gapIds.has(f.id)) } });
  map.addLayer({ id: "gap-areas", type: "fill", source: "gaps", paint: { "fill-color": "#cf222e", "fill-opacity": 0.35 } });
  // Fit the town halls within 80 km of the median one: Tokyo's Izu and Ogasawara islands (up to 1,000 km
  // south) would otherwise shrink the 23 wards to a dot; they stay on the map and in the lists.
  const near = features.map((f) => f.geometry.coordinates).filter(([x, y]) =>
    Math.hypot((x - mid[0]) * 91, (y - mid[1]) * 111) < 80); // km per degree at 35°N
  if (near.length) {
    const lon = near.map((c) => c[0]), lat = near.map((c) => c[1]);
    map.fitBounds([[Math.min(...lon), Math.min(...lat)], [Math.max(...lon), Math.max(...lat)]], { padding: 40, duration: 0 });
  }

  function render() {
    const top = Math.max(1, ...national.groups.map((g) => g.count));
    panel.replaceChildren(
      el("h2", {}, t("municipalities")),
      el("ul", { id: "municipality-counts", class: "list" }, [...features].sort((a, b) => b.properties.count - a.properties.count)
        .slice(0, 8).map((f) => el("li", {}, el("button", { type: "button",
          onclick: () => map.flyTo({ center: f.geometry.coordinates, zoom: 12 }) },
        `${f.properties.name} — ${f.properties.count.toLocaleString()}`)))),
      el("h2", {}, t("gaps"), ` (${coverage.gaps.length} / ${coverage.areas.length})`),
      el("ul", { id: "gap-list", class: "list" }, coverage.gaps.slice(0, 10).map((g) => {
        const f = areas.features.find((x) => x.id === g.area_id);
        return el("li", {}, el("button", { type: "button",
          onclick: () => f && map.flyTo({ center: centre(f.geometry), zoom: 14 }) }, g.name));
      })),
      el("h2", {}, t("chart")),
      el("div", { id: "national-chart", class: "bars", role: "img", "aria-label": t("chart") },
        national.groups.filter((g) => g.count > 0).sort((a, b) => b.count - a.count).flatMap((g) => {
          const bar = el("span", { class: "b" });
          bar.style.width = `${(100 * g.count) / top}%`;
          return [el("span", {}, g.label ?? g.key), el("span", {}, bar), el("span", {}, g.count.toLocaleString())];
        })));
  }
  render();
  return render;
}

// Boundaries are loaded for this prefecture when the zoom-6 tile (~600 km across) holding its median town
// hall has any: one small request (the layer's own tiles are then fetched by the map as usual).
async function boundariesLoaded(number, [lon, lat]) {
  const n = 2 ** 6;
  const x = Math.floor(((lon + 180) / 360) * n);
  const y = Math.floor(((1 - Math.asinh(Math.tan((lat * Math.PI) / 180)) / Math.PI) / 2) * n);
  const r = await fetch(`/v1/tiles/boundaries/6/${x}/${y}.pbf?prefecture=${number}`, { credentials: "same-origin" });
  return r.ok && (await r.arrayBuffer()).byteLength > 0;
}
