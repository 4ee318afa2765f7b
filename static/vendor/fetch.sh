#!/usr/bin/env bash
# Re-create static/vendor/ from the npm registry: pinned versions, integrity checked.
# Usage: bash static/vendor/fetch.sh   (from anywhere; needs npm, tar, openssl)
# To move a version: change the line below, put the new `npm view PKG@VER dist.integrity`
# beside it, run this script, update README.md and app/assets.py (VERSIONS).
set -euo pipefail

VENDOR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# spec | target dir | sha512 integrity of the tarball | files to copy (from package/)
PACKAGES=(
  "leaflet@1.9.4|leaflet-1.9.4|sha512-nxS1ynzJOmOlHp+iL3FyWqK89GtNL8U8rvlMOsQdTTssxZwCXh8N2NB3GDQOL+YR3XnWyZAxwQixURb+FA74PA==|dist/leaflet.js dist/leaflet.css dist/images LICENSE"
  "leaflet.markercluster@1.5.3|leaflet.markercluster-1.5.3|sha512-vPTw/Bndq7eQHjLBVlWpnGeLa3t+3zGiuM7fJwCkiMFq+nmRuG3RI3f7f4N4TDX7T4NpbAXpR2+NTRSEGfCSeA==|dist/leaflet.markercluster.js dist/MarkerCluster.css dist/MarkerCluster.Default.css MIT-LICENCE.txt"
  "@geoman-io/leaflet-geoman-free@2.20.2|leaflet-geoman-free-2.20.2|sha512-KQpSe0VKyuVCudq/08rMjJW1vvIwFldTwBny2wZ7ABcyyUAP7/eoFo967hCu9yRqAAHb4QOxC6gY5dGqttY68g==|dist/leaflet-geoman.min.js dist/leaflet-geoman.css LICENSE"
  "leaflet.fullscreen@3.0.2|leaflet.fullscreen-3.0.2|sha512-m27waFVmwdrLGXjZw2L8b7w/W28EY+u7IGzK2x8K99XaPuzKbjI+/H1j0OMawLcRPZyDRh+39XpyLsvDwHUEoA==|Control.FullScreen.js Control.FullScreen.css icon-fullscreen.svg LICENSE"
  "leaflet-realtime@2.2.0|leaflet-realtime-2.2.0|sha512-Z7xbUNdhvwngJUf3plG9Zw3SaGHzcOzi59tVS3jD0GcS6cOWbRNNfP2biwmtHbufM5VYTIWLATrQ4vrlGI23WA==|dist/leaflet-realtime.min.js LICENSE.md"
  "jquery@3.7.1|jquery-3.7.1|sha512-m4avr8yL8kmFN8psrbFFFmB/If14iN5o9nw/NgnnM+kybDJpRsAynV2BsfpTYrTRysYUdADVD7CkUUizgkpLfg==|dist/jquery.min.js LICENSE.txt"
  "d3@3.5.17|d3-3.5.17|sha512-yFk/2idb8OHPKkbAL8QaOaqENNoMhIaSHZerk3oQsECwkObkCpJyjYwCe+OHiq6UEdhe1m8ZGARRRO3ljFjlKg==|d3.min.js LICENSE"
  "pbf@3.3.0|pbf-3.3.0|sha512-XDF38WCH3z5OV/OVa8GKUNtLAyneuzbCisx7QUCF8Q6Nutx0WnJrQe5O+kOtBlLfRNUws98Y58Lblp+NJG5T4Q==|dist/pbf.js LICENSE"
  "axe-core@4.14.1|axe-core-4.14.1|sha512-FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNtuFooJpZe37OgudVGtQ==|axe.min.js LICENSE LICENSE-3RD-PARTY.txt"
)

for entry in "${PACKAGES[@]}"; do
  IFS='|' read -r spec dir integrity files <<<"$entry"
  rm -rf "$WORK/pkg" && mkdir -p "$WORK/pkg"
  tgz="$(cd "$WORK" && npm pack "$spec" --silent)"
  got="sha512-$(openssl dgst -sha512 -binary "$WORK/$tgz" | openssl base64 -A)"
  if [[ "$got" != "$integrity" ]]; then
    echo "integrity mismatch for $spec: $got" >&2
    exit 1
  fi
  tar xzf "$WORK/$tgz" -C "$WORK/pkg"
  rm -rf "${VENDOR:?}/$dir" && mkdir -p "$VENDOR/$dir"
  for f in $files; do
    cp -R "$WORK/pkg/package/$f" "$VENDOR/$dir/"
  done
  find "$VENDOR/$dir" -type d -exec chmod 755 {} + && find "$VENDOR/$dir" -type f -exec chmod 644 {} +
  echo "$spec -> static/vendor/$dir"
done
