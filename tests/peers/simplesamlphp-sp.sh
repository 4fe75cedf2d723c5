#!/usr/bin/env bash
# Starts SimpleSAMLphp (Debian's `simplesamlphp` package, installed by .ci/install-peers) as a
# SAML 2.0 Service Provider that trusts oinspect's test IdP, for tests/peer_saml_sps.rs.
#
#   PORT=8081 IDP_ENTITY_ID=https://idp.example.test IDP_SSO_URL=https://idp.example.test/sso \
#   IDP_CERT_PEM=/path/idp-cert.pem OUT_DIR=/tmp/ssp tests/peers/simplesamlphp-sp.sh
#
# Optional: SP_ENTITY_ID (default: the SP's metadata URL, SimpleSAMLphp's own default),
# OINSPECT_SSP_HOME (default /usr/share/simplesamlphp).
#
# Generates its configuration into OUT_DIR (config/, metadata/, www/, data/store.sqlite,
# log/; made with mktemp when OUT_DIR is unset) and serves with PHP's built-in server on
# 127.0.0.1:$PORT in the foreground, no Apache:
#   login (SP-initiated)  http://127.0.0.1:$PORT/login.php?ReturnTo=/me.php
#   ACS (HTTP-POST)       http://127.0.0.1:$PORT/module.php/saml/sp/saml2-acs.php/default-sp
#   SP metadata/entityID  http://127.0.0.1:$PORT/module.php/saml/sp/metadata.php/default-sp
#   session check         http://127.0.0.1:$PORT/me.php  (200 {"nameid": ...}; 401 when nobody)
# The server's and SimpleSAMLphp's logs go to OUT_DIR/log/, nothing to stdout; the generated
# secret salt and admin password stay in OUT_DIR/config (mode 600) and are never printed. The
# server gets SIGTERM when its parent dies (setpriv --pdeathsig).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ssp_home=${OINSPECT_SSP_HOME:-/usr/share/simplesamlphp}
for v in PORT IDP_ENTITY_ID IDP_SSO_URL IDP_CERT_PEM; do
    if [ -z "${!v:-}" ]; then echo "simplesamlphp-sp.sh: $v is required" >&2; exit 2; fi
done
if ! command -v php >/dev/null 2>&1 || [ ! -f "$ssp_home/lib/_autoload.php" ]; then
    echo "simplesamlphp-sp.sh: php or SimpleSAMLphp ($ssp_home) missing; run .ci/install-peers" >&2
    exit 2
fi
if [ -z "${OUT_DIR:-}" ]; then
    OUT_DIR=$(mktemp -d "${TMPDIR:-/tmp}/oinspect-ssp.XXXXXX")
    echo "simplesamlphp-sp.sh: state in $OUT_DIR" >&2
fi
mkdir -p "$OUT_DIR"
state=$(cd "$OUT_DIR" && pwd)
umask 077
php "$here/simplesamlphp/configure.php" "$state"

# The document root: SimpleSAMLphp's own www/ entries (symlinked, so it still finds its
# _include.php and libraries) plus the two pages of the peer.
rm -rf "$state/www"
mkdir -p "$state/www"
for f in "$ssp_home"/www/*; do ln -s "$f" "$state/www/"; done
ln -s "$here/simplesamlphp/login.php" "$state/www/login.php"
ln -s "$here/simplesamlphp/me.php" "$state/www/me.php"

export SIMPLESAMLPHP_CONFIG_DIR="$state/config"
export OINSPECT_SSP_HOME="$ssp_home"
cd "$state/www"
exec setpriv --pdeathsig TERM \
    php -d display_errors=0 -d log_errors=1 -d error_log="$state/log/php-error.log" \
        -d session.save_path="$state/tmp" \
        -S "127.0.0.1:$PORT" -t "$state/www" >>"$state/log/php-server.log" 2>&1
