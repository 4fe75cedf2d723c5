// A small express Service Provider on @node-saml/node-saml, the peer of tests/peer_saml_sps.rs.
// Started by tests/peers/node-saml-sp.sh (see it for the environment); listens on
// 127.0.0.1:$PORT only.
//
//   GET  /login          SP-initiated login: 302 to the IdP with an HTTP-Redirect AuthnRequest
//                        (?RelayState=... is passed through; default /me)
//   POST /saml/acs       the ACS (HTTP-POST): validatePostResponseAsync, then a session
//   GET  /me             the session check: 200 {"nameid": ...} or 401 {"error": "not logged in"}
//   GET  /saml/metadata  SP metadata
//
// node-saml's validation options are left at its 5.x defaults unless the environment says
// otherwise (NODE_SAML_VALIDATE_IN_RESPONSE_TO): both the Response and the Assertion must be
// signed, no clock skew, no InResponseTo validation, no replay cache. The rejection of a
// Response is answered 401 with a JSON error naming node-saml's message.
"use strict";

const fs = require("node:fs");
const crypto = require("node:crypto");
const express = require("express");
const session = require("express-session");
const { SAML, ValidateInResponseTo } = require("@node-saml/node-saml");

function need(name) {
  const v = process.env[name];
  if (!v) {
    process.stderr.write(`node-saml-sp: ${name} is required\n`);
    process.exit(2);
  }
  return v;
}

const port = Number(need("PORT"));
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  process.stderr.write("node-saml-sp: PORT must be a TCP port number\n");
  process.exit(2);
}
const base = `http://127.0.0.1:${port}`;
const idpEntityId = need("IDP_ENTITY_ID");
const idpSsoUrl = need("IDP_SSO_URL");
const idpCert = fs.readFileSync(need("IDP_CERT_PEM"), "utf8");
const spEntityId = process.env.SP_ENTITY_ID || `${base}/saml/metadata`;
const acsUrl = `${base}/saml/acs`;

const samlOptions = {
  callbackUrl: acsUrl,
  entryPoint: idpSsoUrl,
  issuer: spEntityId,
  audience: spEntityId, // node-saml's default is the issuer; said explicitly
  idpCert,
  idpIssuer: idpEntityId, // node-saml checks it on logout messages only
  // Kept at node-saml 5.x's defaults, written out so the README and this file agree:
  wantAuthnResponseSigned: true,
  wantAssertionsSigned: true,
  acceptedClockSkewMs: 0,
  maxAssertionAgeMs: 0,
  authnRequestBinding: "HTTP-Redirect",
};
const irt = process.env.NODE_SAML_VALIDATE_IN_RESPONSE_TO;
if (irt) {
  if (!Object.values(ValidateInResponseTo).includes(irt)) {
    process.stderr.write("node-saml-sp: NODE_SAML_VALIDATE_IN_RESPONSE_TO must be never, ifPresent or always\n");
    process.exit(2);
  }
  samlOptions.validateInResponseTo = irt;
}
const saml = new SAML(samlOptions);

const app = express();
app.disable("x-powered-by");
app.use(
  session({
    name: "nodesamlsp.sid",
    secret: crypto.randomBytes(32).toString("hex"),
    resave: false,
    saveUninitialized: false,
    cookie: { httpOnly: true, sameSite: "lax", secure: false },
  }),
);

function localPath(p) {
  return typeof p === "string" && /^\/(?!\/)[^\\\s]*$/.test(p) ? p : null;
}

app.get("/login", async (req, res, next) => {
  try {
    const relayState = localPath(req.query.RelayState) || "/me";
    const url = await saml.getAuthorizeUrlAsync(relayState, req.headers.host, {});
    res.redirect(302, url);
  } catch (err) {
    next(err);
  }
});

app.post("/saml/acs", express.urlencoded({ extended: false, limit: "1mb" }), async (req, res) => {
  if (typeof req.body?.SAMLResponse !== "string") {
    res.status(400).json({ error: "no SAMLResponse" });
    return;
  }
  let result;
  try {
    result = await saml.validatePostResponseAsync({ SAMLResponse: req.body.SAMLResponse });
  } catch (err) {
    process.stderr.write(`node-saml-sp: rejected a SAML Response: ${err.message}\n`);
    res.status(401).json({ error: "SAML response rejected", reason: err.message });
    return;
  }
  const profile = result.profile;
  if (!profile || !profile.nameID) {
    res.status(401).json({ error: "SAML response rejected", reason: "no profile" });
    return;
  }
  req.session.regenerate((err) => {
    if (err) {
      res.status(500).json({ error: "session" });
      return;
    }
    req.session.user = {
      nameid: profile.nameID,
      nameid_format: profile.nameIDFormat || null,
      issuer: profile.issuer || null,
      session_index: profile.sessionIndex || null,
      in_response_to: profile.inResponseTo || null,
      attributes: profile.attributes || {},
    };
    req.session.save(() => res.redirect(303, localPath(req.body.RelayState) || "/me"));
  });
});

app.get("/me", (req, res) => {
  res.set("Cache-Control", "no-store");
  if (!req.session.user) {
    res.status(401).json({ error: "not logged in" });
    return;
  }
  res.json(req.session.user);
});

app.get("/saml/metadata", (req, res) => {
  res.type("application/samlmetadata+xml").send(saml.generateServiceProviderMetadata(null, null));
});

app.use((err, req, res, _next) => {
  process.stderr.write(`node-saml-sp: ${err.message}\n`);
  res.status(500).json({ error: "internal error" });
});

const server = app.listen(port, "127.0.0.1", () => {
  process.stderr.write(`node-saml-sp: listening on ${base} (SP entity ID ${spEntityId})\n`);
});

function stop() {
  server.close();
  server.closeAllConnections?.();
  process.exit(0);
}
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
// Exit when the parent dies (belt and braces with the launcher's setpriv --pdeathsig).
// The launcher passes its parent's pid: exec keeps the pid, so that is our parent too, and a
// parent that died before we got here is noticed on the first tick.
const parent = Number(process.env.OINSPECT_PEER_PARENT_PID) || process.ppid;
setInterval(() => {
  if (process.ppid !== parent) stop();
}, 1000).unref();
