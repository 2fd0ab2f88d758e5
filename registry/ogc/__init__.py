"""OGC API building blocks over the catalogue and the priority areas."""
