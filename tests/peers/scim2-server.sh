#!/usr/bin/env bash
# Starts the independent SCIM server `scim2-server` (PyPI, installed by .ci/install-peers into
# target/peers/venv) for tests/peer_scim2_server.rs.
#
#   PORT=8080 OINSPECT_PEER_TOKEN=... tests/peers/scim2-server.sh
#
# Serves http://127.0.0.1:$PORT/v2 (Users, Groups, the EnterpriseUser extension) with
# in-memory storage, and accepts only `Authorization: Bearer $OINSPECT_PEER_TOKEN`.
# The token is read from the environment so that it never shows in `ps`; nothing secret is
# printed. The server exits when its parent process dies (see scim2_server_peer.py).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
venv=${OINSPECT_PEER_VENV:-$here/../../target/peers/venv}
if [ ! -x "$venv/bin/python" ]; then
    echo "scim2-server.sh: no venv at $venv; run .ci/install-peers" >&2
    exit 2
fi
# exec: the test's child is the Python server itself, so killing it kills the server.
exec "$venv/bin/python" "$here/scim2_server_peer.py" "$@"
