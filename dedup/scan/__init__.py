"""The batch scan: `api` is the entry point, `pipeline` runs the engine's stages in order, `parallel` reads
and featurizes files in worker processes."""
