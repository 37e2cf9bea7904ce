#!/bin/sh
# The default namespace and the Dataset* search attributes runs show their progress in.
set -eu
temporal operator namespace describe --namespace default >/dev/null 2>&1 || temporal operator namespace create --namespace default
temporal operator search-attribute create --namespace default \
  --name DatasetName --type Keyword --name DatasetModel --type Keyword \
  --name DatasetTarget --type Int --name DatasetAccepted --type Int || true
