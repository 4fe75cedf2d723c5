#!/usr/bin/env bash
# Starts a small express Service Provider on @node-saml/node-saml (npm, installed by
# .ci/install-peers into target/peers/node-saml-sp from the pins of
# tests/peers/node-saml-sp/package-lock.json) that trusts oinspect's test IdP, for
# tests/peer_saml_sps.rs.
#
#   PORT=8082 IDP_ENTITY_ID=https://idp.example.test IDP_SSO_URL=https://idp.example.test/sso \
#   IDP_CERT_PEM=/path/idp-cert.pem OUT_DIR=/tmp/nsp tests/peers/node-saml-sp.sh
#
# Optional: SP_ENTITY_ID (default http://127.0.0.1:$PORT/saml/metadata),
# NODE_SAML_VALIDATE_IN_RESPONSE_TO (never | ifPresent | always; unset keeps node-saml's
# default, never), OINSPECT_NODE_SAML_SP_MODULES (default target/peers/node-saml-sp/node_modules).
#
#   login (SP-initiated)  http://127.0.0.1:$PORT/login   (?RelayState=/me)
#   ACS (HTTP-POST)       http://127.0.0.1:$PORT/saml/acs
#   SP metadata           http://127.0.0.1:$PORT/saml/metadata
#   session check         http://127.0.0.1:$PORT/me      (200 {"nameid": ...}; 401 when nobody)
# Serves 127.0.0.1:$PORT in the foreground; its log goes to OUT_DIR/node-saml-sp.log (made
# with mktemp when OUT_DIR is unset). The session secret is random per start and never printed.
# The server exits when its parent dies (setpriv --pdeathsig, and a ppid watchdog in app.js).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
modules=${OINSPECT_NODE_SAML_SP_MODULES:-$here/../../target/peers/node-saml-sp/node_modules}
for v in PORT IDP_ENTITY_ID IDP_SSO_URL IDP_CERT_PEM; do
    if [ -z "${!v:-}" ]; then echo "node-saml-sp.sh: $v is required" >&2; exit 2; fi
done
if ! command -v node >/dev/null 2>&1 || [ ! -d "$modules/@node-saml/node-saml" ]; then
    echo "node-saml-sp.sh: node or $modules/@node-saml/node-saml missing; run .ci/install-peers" >&2
    exit 2
fi
if [ -z "${OUT_DIR:-}" ]; then
    OUT_DIR=$(mktemp -d "${TMPDIR:-/tmp}/oinspect-node-saml.XXXXXX")
    echo "node-saml-sp.sh: state in $OUT_DIR" >&2
fi
mkdir -p "$OUT_DIR"
export NODE_PATH="$modules"
export NODE_ENV=production
export OINSPECT_PEER_PARENT_PID=$PPID
exec setpriv --pdeathsig TERM node "$here/node-saml-sp/app.js" >>"$OUT_DIR/node-saml-sp.log" 2>&1
