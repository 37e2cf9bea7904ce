-- The runs' store (shards, datasets, manifests), apart from Temporal's own databases.
CREATE DATABASE deepfabric;
