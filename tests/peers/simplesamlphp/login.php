<?php
// GET /login.php?ReturnTo=/me.php : SP-initiated login with the `default-sp` auth source.
// Not logged in: requireAuth() sends the browser to the IdP (HTTP-Redirect AuthnRequest) and
// exits; after the ACS accepted the IdP's Response, SimpleSAMLphp redirects to ReturnTo.
// Already logged in: redirects to ReturnTo at once. ReturnTo must be a local path.
declare(strict_types=1);
require_once (getenv('OINSPECT_SSP_HOME') ?: '/usr/share/simplesamlphp') . '/lib/_autoload.php';

$returnTo = $_GET['ReturnTo'] ?? '/me.php';
if (!is_string($returnTo) || !preg_match('#^/(?!/)[^\\\\\s]*$#', $returnTo)) {
    http_response_code(400);
    header('Content-Type: application/json');
    echo json_encode(['error' => 'ReturnTo must be a local path']), "\n";
    exit;
}
$returnTo = \SimpleSAML\Utils\HTTP::getSelfURLHost() . $returnTo;

$as = new \SimpleSAML\Auth\Simple('default-sp');
$as->requireAuth(['ReturnTo' => $returnTo]);
\SimpleSAML\Utils\HTTP::redirectTrustedURL($returnTo);
