"""Optional integrations at the edge (Spark, HNSW, plots); the core never imports them."""
