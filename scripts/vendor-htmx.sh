#!/usr/bin/env bash
# Re-vendors htmx from the npm package htmx.org at the version pinned in streamui/vendor.py.
# 4.0.x ships the WebSocket and SSE extensions in the same package.
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(sed -n 's/^HTMX_VERSION = "\(.*\)"$/\1/p' streamui/vendor.py)
dest=streamui/static/streamui/vendor
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "htmx.org@$version" >/dev/null && tar xzf "htmx.org-$version.tgz")
rm -f "$dest"/htmx-*.js "$dest"/LICENSE-htmx
cp "$work/package/dist/htmx.min.js" "$dest/htmx-$version.min.js"
cp "$work/package/dist/ext/hx-ws.min.js" "$dest/htmx-$version-ext-ws.min.js"
cp "$work/package/dist/ext/hx-sse.min.js" "$dest/htmx-$version-ext-sse.min.js"
cp "$work/package/LICENSE" "$dest/LICENSE-htmx"
echo "vendored htmx.org $version into $dest"
