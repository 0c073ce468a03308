#!/usr/bin/env bash
# Run dockerarch over carefully multi-arch Dockerfiles (docker-library and
# friends). Every finding here is a false positive to explain or fix.
#   scripts/negatives.sh [CACHE_DIR]     (default: ~/.cache/dockerarch-negatives)
# Clones shallowly (needs the network; never run by the tests) and deletes
# the jq templates, which are not Dockerfiles. Nothing is committed.
set -euo pipefail
cache=${1:-${XDG_CACHE_HOME:-$HOME/.cache}/dockerarch-negatives}
repos=(
  docker-library/python docker-library/golang nodejs/docker-node docker-library/postgres
  docker-library/php docker-library/ruby adoptium/containers docker-library/buildpack-deps
)
mkdir -p "$cache"
for repo in "${repos[@]}"; do
  dir="$cache/${repo/\//+}"
  if [ ! -d "$dir" ]; then
    git clone -q --depth 1 "https://github.com/$repo" "$dir"
  fi
  find "$dir" -name '*.template' -delete
done
count=$(find "$cache" -name 'Dockerfile*' -type f | wc -l)
echo "negatives: $count Dockerfiles under $cache" >&2
exec dockerarch check --isolated --statistics "$cache"
