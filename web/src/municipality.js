// The municipality's view: its own assets, drafts and withdrawn ones included (drawn on the map too, as
// the catalogue tiles hold only published ones), and the applications awaiting its decision, deadlines
// first, overdue ones in red, each decided from here (approve, refuse with a reason, request information).
import { addAssetLayers, api, el, toast } from "./map.js";
import { openAsset } from "./assetpanel.js";
import { t } from "./i18n.js";

const REASONS = ["not_technically_suitable", "no_space", "safety_or_security", "network_integrity", "interference",
  "alternative_offered"];
const STATUS_COLOURS = { draft: "#8250df", published: "#1a7f37", withdrawn: "#6e7781" };

export async function start(map, me) {
  const panel = document.getElementById("panel");
  let own = { features: [] };
  let pending = [];

  async function load() {
    own = await api(`/v1/municipalities/${me.tenant_code}/assets?limit=1000`);
    const open = await Promise.all(["submitted", "information_requested"].map(
      (s) => api(`/v1/applications?status=${s}&limit=200`)));
    pending = open.flatMap((p) => p.items).sort((a, b) => a.decision_due.localeCompare(b.decision_due));
  }

  async function decide(a, action, reason) {
    try {
      await api(`/v1/applications/${a.application_id}/actions`, { method: "POST",
        body: reason ? { action, reason } : { action } });
      toast(t("decided"));
      await load();
      render();
    } catch (error) {
      toast(error.message);
    }
  }

  function applicationItem(a) {
    const reason = el("select", { id: `reason-${a.application_id}`, "aria-label": t("reason") },
      REASONS.map((r) => el("option", { value: r }, t(r))));
    return el("li", { class: "app", "data-application": a.application_id },
      el("strong", {}, t(a.status)), ` · ${a.carrier_code} · ${a.purpose}`, el("br"),
      el("span", { class: a.overdue ? "overdue" : "meta" },
        `${t("due")}: ${a.decision_due}${a.overdue ? ` (${t("overdue")})` : ""}`),
      el("div", { class: "row" },
        a.asset_ids.map((id) => el("button", { type: "button", class: "secondary", onclick: () => openAsset(id) },
          id.slice(0, 8)))),
      el("div", { class: "row" },
        a.status === "submitted" ? el("button", { type: "button", onclick: () => decide(a, "approve") }, t("approve")) : null,
        a.status === "submitted" ? el("button", { type: "button", class: "secondary",
          onclick: () => decide(a, "request_information") }, t("requestInfo")) : null,
        reason, el("button", { type: "button", class: "danger", onclick: () => decide(a, "refuse", reason.value) },
          t("refuse"))));
  }

  function render() {
    map.getSource("own")?.setData(own);
    panel.replaceChildren(
      el("h2", {}, t("pending"), ` (${pending.length})`),
      el("ul", { id: "pending-list", class: "list" }, pending.length ? pending.map(applicationItem)
        : el("li", { class: "meta" }, t("none"))),
      el("h2", {}, t("ownAssets"), ` (${own.features.length})`),
      el("ul", { id: "own-list", class: "list" }, own.features.map((f) => el("li", { "data-status": f.properties.status },
        el("button", { type: "button", onclick: () => openAsset(f.id) }, f.properties.name, el("br"),
          el("span", { class: "meta" }, `${t(f.properties.status)} · ${t(f.properties.category)} · `
            + `${t(f.properties.availability)}`))))));
  }

  addAssetLayers(map);
  await load();
  map.addSource("own", { type: "geojson", data: own });
  map.addLayer({ id: "own-assets", type: "circle", source: "own", paint: {
    "circle-radius": 7, "circle-color": "#fff", "circle-stroke-width": 3,
    "circle-stroke-color": ["match", ["get", "status"], ...Object.entries(STATUS_COLOURS).flat(), "#888"] } });
  map.on("click", "own-assets", (e) => openAsset(e.features[0].properties.asset_id));
  map.on("click", "asset-points", (e) => openAsset(e.features[0].properties.asset_id));
  if (own.features.length) {
    const xs = own.features.map((f) => f.geometry.coordinates).filter((c) => typeof c[0] === "number");
    if (xs.length) {
      const lon = xs.map((c) => c[0]), lat = xs.map((c) => c[1]);
      map.fitBounds([[Math.min(...lon), Math.min(...lat)], [Math.max(...lon), Math.max(...lat)]],
        { padding: 60, maxZoom: 14, duration: 0 });
    }
  }
  render();
  return render;
}
