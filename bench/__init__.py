"""`make bench`: the system under a flash sale on one machine, each figure set beside a bare
Temporal (or bare FastAPI) baseline measured in the same run. See bench/README.md."""
