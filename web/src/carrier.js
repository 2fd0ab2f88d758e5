// The carrier's view: filters that change the map and the list together, the list of what is in view
// (/v1/assets with the map's bbox and the same filter), assets found by address from the place search,
// priority areas with their coverage and "candidates near this gap", exports of the current filter (CSV,
// GeoJSON, GeoPackage), and the carrier's own applications.
import { addAssetLayers, api, bboxOf, centre, el, pointFilter, query, toast } from "./map.js";
import { closePanel, openAsset } from "./assetpanel.js";
import { t } from "./i18n.js";

const CATEGORIES = ["rooftop", "land", "structure", "streetlight", "traffic_signal", "utility_pole", "bus_stop",
  "subway_entrance", "park", "signage", "other"];
const AVAILABILITIES = ["offered", "on_request", "partly_available", "occupied", "reserved"];
const LIST_LIMIT = 100;

export async function start(map, me) {
  const panel = document.getElementById("panel");
  const state = { category: "", availability: "", min_height: "", power: "", max_fibre_distance: "",
                  min_mountable_height: "", min_spare_load: "", min_free_slots: "", near: null, address: "" };
  const FILTERS = ["category", "availability", "min_height", "power", "max_fibre_distance", "min_mountable_height",
                   "min_spare_load", "min_free_slots"];
  let tab = "assets";

  const searchParams = () => {
    const common = Object.fromEntries(FILTERS.map((k) => [k, state[k]]));
    // An address search covers the whole country (the answer is the list); otherwise what is in view.
    if (state.address) return { ...common, address: state.address };
    return state.near ? { ...common, near: state.near.join(","), radius: 1000 } : { ...common, bbox: bboxOf(map) };
  };

  function applyFilter() {
    addAssetLayers(map, query({ category: state.category, availability: state.availability }));
    map.setFilter("asset-points", pointFilter(state));
    refreshList();
  }

  let listRun = 0;
  async function refreshList() {
    const run = ++listRun;
    const box = document.getElementById("asset-list");
    if (!box) return;
    const result = await api(`/v1/assets?${query({ ...searchParams(), limit: LIST_LIMIT, count: true })}`)
      .catch((error) => { toast(error.message); return null; });
    // The list's tab may have been left (its elements replaced) while the search was on its way.
    if (!result || run !== listRun || !box.isConnected) return;
    document.getElementById("matched").textContent = `${result.numberMatched} ${t(state.address ? "matchedAddress" : "matched")}`;
    box.replaceChildren(...result.features.map((f) => el("li", { "data-asset-id": f.id },
      el("button", { type: "button", onclick: () => openAsset(f.id, { canApply: me.role === "carrier", onApplied: refreshApplications }) },
        f.properties.name, el("br"),
        el("span", { class: "meta" }, `${t(f.properties.category)} · ${f.properties.height_m ?? "—"} m · `
          + `${t(f.properties.availability)}${f.properties.coarse_location ? " · ⚠" : ""}`)))));
    const q = query(searchParams());
    document.getElementById("export-csv").href = `/v1/assets/export?${q}`;
    document.getElementById("export-geojson").href = `/v1/assets?${q}&f=geojson&limit=1000`;
    document.getElementById("export-gpkg").href = `/v1/assets/export?${q}&f=gpkg`;
    return result;
  }

  function select(id, key, values) {
    const s = el("select", { id, name: key, onchange: (e) => { state[key] = e.target.value; state.near = null; applyFilter(); } },
      el("option", { value: "" }, t("any")), values.map((v) => el("option", { value: v }, t(v))));
    s.value = state[key];
    return s;
  }
  function number(id, key) {
    const i = el("input", { id, name: key, type: "number", min: 0, step: 1, inputmode: "numeric",
      onchange: (e) => { state[key] = e.target.value; state.near = null; applyFilter(); } });
    i.value = state[key];
    return i;
  }
  const field = (id, label, control) => el("label", { for: id }, t(label), control);

  async function refreshApplications() {
    const box = document.getElementById("application-list");
    if (!box) return;
    const page = await api("/v1/applications?limit=100");
    box.replaceChildren(...page.items.map((a) => el("li", { class: "app", "data-application": a.application_id },
      el("strong", {}, t(a.status)), ` · ${a.purpose}`, el("br"),
      el("span", { class: a.overdue ? "overdue" : "meta" }, `${t("due")}: ${a.decision_due}${a.overdue ? ` (${t("overdue")})` : ""}`),
      a.refusal_reason ? el("div", { class: "meta" }, `${t("refusal")}: ${t(a.refusal_reason)} ${a.decision_note ?? ""}`) : null)));
    if (!page.items.length) box.append(el("li", { class: "meta" }, t("none")));
  }

  async function showAreas() {
    const box = document.getElementById("area-list");
    const [coverage, areas] = await Promise.all([api("/v1/priority-areas/coverage?distance=200"),
      api("/v1/priority-areas?limit=1000")]);
    const where = new globalThis.Map(areas.features.map((f) => [f.id, centre(f.geometry)]));
    box.replaceChildren(...coverage.areas.sort((a, b) => a.assets - b.assets).slice(0, 200).map((a) => el("li", {},
      el("div", { class: "row" }, el("span", {}, a.name), el("span", { class: a.assets ? "meta" : "overdue" },
        a.assets ? `${t("covered")} (${a.assets})` : t("uncovered")),
        el("button", { type: "button", class: "secondary", onclick: () => {
          const c = where.get(a.area_id);
          if (!c) return;
          state.near = c;
          tab = "assets";
          render();
          map.flyTo({ center: c, zoom: 14 });
        } }, t("candidates"))))));
  }

  function render() {
    const tabs = el("div", { class: "tabs", role: "tablist" }, [["assets", "results"], ["areas", "areas"],
      ["applications", "myApplications"]].map(([name, label]) => el("button", {
      type: "button", role: "tab", "aria-selected": String(tab === name), id: `tab-${name}`,
      onclick: () => { tab = name; render(); } }, t(label))));
    const body = [];
    if (tab === "assets") {
      body.push(el("form", { id: "filters", onsubmit: (e) => e.preventDefault() }, el("fieldset", {},
        el("legend", {}, t("filters")),
        field("f-category", "category", select("f-category", "category", CATEGORIES)),
        field("f-availability", "availability", select("f-availability", "availability", AVAILABILITIES)),
        field("f-min-height", "minHeight", number("f-min-height", "min_height")),
        field("f-power", "power", select("f-power", "power", ["yes", "no", "unknown"])),
        field("f-fibre", "maxFibre", number("f-fibre", "max_fibre_distance")),
        field("f-mountable", "minMountable", number("f-mountable", "min_mountable_height")),
        field("f-load", "minLoad", number("f-load", "min_spare_load")),
        field("f-slots", "minSlots", number("f-slots", "min_free_slots")))),
      state.address ? el("p", { class: "row", id: "address-filter" }, `${t("address")}: 「${state.address}」`,
        el("button", { type: "button", class: "secondary", id: "clear-address",
          onclick: () => { state.address = ""; render(); } }, t("clear"))) : null,
      el("p", { class: "hint" }, t("zoomHint")),
      el("div", { class: "row" }, el("strong", {}, t("export")),
        el("a", { id: "export-csv", href: "#", download: "assets.csv" }, "CSV"),
        el("a", { id: "export-geojson", href: "#", download: "assets.geojson" }, "GeoJSON"),
        el("a", { id: "export-gpkg", href: "#", download: "assets.gpkg" }, "GeoPackage")),
      el("h2", {}, t("results"), " ", el("span", { id: "matched", class: "meta" })),
      el("ul", { id: "asset-list", class: "list" }));
    } else if (tab === "areas") {
      body.push(el("h2", {}, t("areas")), el("ul", { id: "area-list", class: "list" }, el("li", {}, t("loading"))));
    } else {
      body.push(el("h2", {}, t("myApplications")), el("ul", { id: "application-list", class: "list" }));
    }
    panel.replaceChildren(tabs, ...body.filter(Boolean));
    if (tab === "assets") refreshList();
    if (tab === "areas") showAreas().catch((error) => toast(error.message));
    if (tab === "applications") refreshApplications().catch((error) => toast(error.message));
  }

  addAssetLayers(map);
  map.on("click", "asset-points", (e) => {
    const id = e.features[0]?.properties.asset_id;
    if (id) openAsset(id, { canApply: me.role === "carrier", onApplied: refreshApplications });
  });
  let timer = null;
  map.on("moveend", () => { clearTimeout(timer); timer = setTimeout(() => { if (!state.near) refreshList(); }, 250); });
  document.addEventListener("keydown", (e) => { if (e.key === "Escape") closePanel(); });
  document.addEventListener("kyodo:find", async (event) => {
    event.preventDefault();
    state.address = event.detail.text;
    state.near = null;
    tab = "assets";
    render();
    const result = await refreshList();
    // No place of that name: show where the matching assets are.
    if (!event.detail.place && result?.features.length) {
      const points = result.features.map((f) => centre(f.geometry));
      const lon = points.map((p) => p[0]), lat = points.map((p) => p[1]);
      map.fitBounds([[Math.min(...lon), Math.min(...lat)], [Math.max(...lon), Math.max(...lat)]],
        { padding: 60, maxZoom: 15, duration: 0 });
    } else if (!event.detail.place && result) toast(`${t("search")}: ${t("none")}`);
  });
  render();
  applyFilter();
  return render;
}
