#!/bin/sh
# openapi.sh: api/openapi.yaml against the daemon's own router table
# (`recalld serve --routes`): every /v1 route documented with its roles,
# nothing documented that is not a route; then `redocly lint`. The answers
# themselves are held to the document by every black-box suite (apitest.c).
# Needs RECALLD_OPENAPI_NODE_PATH: test.sh installs tests/openapi's npm
# packages and sets it; without it, this test is skipped (exit 77).
set -u
RECALLD=${RECALLD:-./recalld}
srcdir=${srcdir:-.}
node_path=${RECALLD_OPENAPI_NODE_PATH:-}
if [ -z "$node_path" ] || [ ! -d "$node_path/ajv" ]; then
	echo "SKIP: RECALLD_OPENAPI_NODE_PATH is not set (test.sh sets it after npm ci of tests/openapi)"
	exit 77
fi
tmp=$(mktemp -d /tmp/recalld-openapi.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
. "${srcdir:-.}/tests/tap.sh"

"$RECALLD" serve --routes >"$tmp/routes"
if [ $? = 0 ] && grep -q '^GET /v1/pupils admin,teacher,integration$' "$tmp/routes"; then
	ok "recalld serve --routes prints the router table"
else
	not_ok "recalld serve --routes prints the router table"
fi
if NODE_PATH="$node_path" node "$srcdir/tests/openapi/coverage.cjs" "$srcdir/api/openapi.yaml" \
    "$tmp/routes" >"$tmp/coverage" 2>&1; then
	ok "every /v1 route is in api/openapi.yaml with its roles, and only those ($(tail -n 1 "$tmp/coverage"))"
else
	cat "$tmp/coverage"
	not_ok "every /v1 route is in api/openapi.yaml with its roles, and only those"
fi
# The check fails when a route is missing: a copy of the document without
# one must be refused.
NODE_PATH="$node_path" node -e '
const fs = require("fs"), YAML = require("yaml");
const d = YAML.parse(fs.readFileSync(process.argv[1], "utf8"));
delete d.paths["/v1/responses"];
fs.writeFileSync(process.argv[2], YAML.stringify(d));' "$srcdir/api/openapi.yaml" "$tmp/less.yaml"
if NODE_PATH="$node_path" node "$srcdir/tests/openapi/coverage.cjs" "$tmp/less.yaml" "$tmp/routes" |
    grep -q "POST /v1/responses: a route of the daemon that api/openapi.yaml does not describe"; then
	ok "a route left out of the document is caught"
else
	not_ok "a route left out of the document is caught"
fi
if "$node_path/.bin/redocly" lint --format=stylish "$srcdir/api/openapi.yaml" >"$tmp/lint" 2>&1; then
	ok "redocly lint passes"
else
	cat "$tmp/lint"
	not_ok "redocly lint passes"
fi
tap_done
