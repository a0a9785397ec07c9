"""The near-duplicate engine, one module per stage: featurize (shingle, signature, passages, term counts),
lsh (candidate pairs), tfidf and confirm (verdicts), cluster. Stages take plain objects and numpy arrays."""
