#!/usr/bin/env bash
# Pre-release only: rewrite the initial revision of each history from the models.
# Once a release has shipped, add new revisions with `flask --app host_stub make-migration` instead.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export HOST_DATA_DIR="$tmp" DATABASE_URL=""
rm -f host_stub/migrations/versions/host_0001_*.py colcw_plugin/migrations/versions/colcw_0001_*.py
.venv/bin/flask --app host_stub make-migration host_stub "host schema" --rev-id host_0001
.venv/bin/flask --app host_stub make-migration colcw "colcw schema" --rev-id colcw_0001
# Keep regenerations diff-free when nothing changed.
sed -i 's/^Create Date: .*/Create Date: pre-release initial revision/' \
  host_stub/migrations/versions/host_0001_*.py colcw_plugin/migrations/versions/colcw_0001_*.py
