#!/usr/bin/env bash
# Prints the CSP hash sources ('sha256-...') of the inline <script> (default) or <style> (--style) elements of
# an HTML file, e.g. Trunk's inline wasm loader in dist/index.html, for $hybrid_csp_hashes in hybrid.conf.
set -euo pipefail
tag=script
if [ "${1:-}" = "--style" ]; then tag=style; shift; fi
file="${1:?usage: csp-hashes.sh [--style] dist/index.html}"
python3 - "$tag" "$file" <<'PY'
import base64, hashlib, re, sys
tag, path = sys.argv[1], sys.argv[2]
html = open(path, encoding="utf-8").read()
out = []
for attrs, body in re.findall(r"<%s\b([^>]*)>(.*?)</%s>" % (tag, tag), html, re.S | re.I):
    if re.search(r"\bsrc\s*=", attrs):
        continue
    digest = base64.b64encode(hashlib.sha256(body.encode("utf-8")).digest()).decode()
    out.append("'sha256-%s'" % digest)
print(" ".join(out))
PY
