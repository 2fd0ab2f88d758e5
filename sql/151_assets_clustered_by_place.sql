-- Why (issue 13): at 1,000,000 points a one-kilometre bbox search matches about 1,100 assets and must read
-- every one of them before it can return the first 100 in the API's order (municipality code, id): no index
-- serves that order together with a box, and PostGIS's GiST opclass cannot return geometries from the index
-- (no fetch support), so a covering index cannot spare the heap. What can be spared is scattered reads: loaded
-- in file order, the ~1,100 matches of a box lay on ~1,105 heap pages; after CLUSTER on the spatial index on
-- 89 (bench/PEERS.md, EXPLAIN of box 1). This names assets_geom as the table's clustering index, so that an
-- operator's `CLUSTER assets;` (or clusterdb) after a large load rewrites the table in spatial order.
alter table assets cluster on assets_geom;
