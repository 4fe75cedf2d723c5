<?php
// GET /me.php : who is logged in to the `default-sp` auth source (the session check).
//   200 {"nameid": "...", "nameid_format": "...", "idp": "...", "attributes": {...}}
//   401 {"error": "not logged in"}
declare(strict_types=1);
require_once (getenv('OINSPECT_SSP_HOME') ?: '/usr/share/simplesamlphp') . '/lib/_autoload.php';

header('Content-Type: application/json');
header('Cache-Control: no-store');
$as = new \SimpleSAML\Auth\Simple('default-sp');
if (!$as->isAuthenticated()) {
    http_response_code(401);
    echo json_encode(['error' => 'not logged in']), "\n";
    exit;
}
$nameId = $as->getAuthData('saml:sp:NameID');
$value = null;
$format = null;
if ($nameId instanceof \SAML2\XML\saml\NameID) {
    $value = $nameId->getValue();
    $format = $nameId->getFormat();
} elseif (is_array($nameId)) { // sessions written by older releases
    $value = $nameId['Value'] ?? null;
    $format = $nameId['Format'] ?? null;
}
echo json_encode([
    'nameid' => $value,
    'nameid_format' => $format,
    'idp' => $as->getAuthData('saml:sp:IdP'),
    'attributes' => (object)$as->getAttributes(),
], JSON_UNESCAPED_SLASHES), "\n";
