//! Every check can fail: for each break switch of the reference app, exactly the listed
//! tests fail, and every built-in test fails under at least one switch (or is listed in
//! `NOT_BREAKABLE` with the reason). The correct app passes everything.
//!
//! To refresh the table after changing plans or switches:
//!   OINSPECT_PRINT_MATRIX=1 cargo test --test break_matrix -- --nocapture print_matrix

use std::collections::{BTreeMap, BTreeSet};

use assert_cmd::Command;

/// Fixed so the matrix is reproducible; the outcomes must not depend on it (the demo test
/// in tests/cli.rs and the concurrency test use other seeds).
const SEED: &str = "20261129";

/// break switch → the tests that fail under it (outcome `fail`; tests that cannot run
/// because an earlier test of their sequence failed are skipped, not listed).
const EXPECTED: &[(&str, &[&str])] = &[
    (
        "saml-accept-dtd",
        &["saml.security.dtd", "saml.security.entity-expansion"],
    ),
    ("saml-accept-sha1", &["saml.security.sha1"]),
    (
        "saml-assertion-by-xpath",
        &[
            "saml.security.duplicate-id",
            "saml.security.multiple-assertions",
            "saml.security.reference-uri-mismatch",
            "saml.security.xsw-matrix.in-advice.copied",
            "saml.security.xsw-matrix.in-advice.left-in-place",
            "saml.security.xsw-matrix.in-advice.moved",
            "saml.security.xsw-matrix.in-issuer.copied",
            "saml.security.xsw-matrix.in-issuer.left-in-place",
            "saml.security.xsw-matrix.in-issuer.moved",
            "saml.security.xsw-matrix.in-nested-response.copied",
            "saml.security.xsw-matrix.in-nested-response.left-in-place",
            "saml.security.xsw-matrix.in-nested-response.moved",
            "saml.security.xsw-matrix.in-signature-object.copied",
            "saml.security.xsw-matrix.in-signature-object.left-in-place",
            "saml.security.xsw-matrix.in-signature-object.moved",
            "saml.security.xsw-matrix.in-subject.copied",
            "saml.security.xsw-matrix.in-subject.left-in-place",
            "saml.security.xsw-matrix.in-subject.moved",
            "saml.security.xsw-matrix.sibling-after.copied",
            "saml.security.xsw-matrix.sibling-after.left-in-place",
            "saml.security.xsw-matrix.sibling-after.moved",
            "saml.security.xsw3",
            "saml.security.xsw4",
            "saml.security.xsw5",
            "saml.security.xsw6",
            "saml.security.xsw7",
            "saml.security.xsw8",
        ],
    ),
    (
        "saml-audience-optional",
        &["saml.security.audience-missing"],
    ),
    (
        "saml-comment-truncation",
        &["saml.security.comment-injection-nameid"],
    ),
    (
        "saml-consume-last-assertion",
        &[
            "saml.security.reference-uri-mismatch",
            "saml.security.xsw-evil-after-valid",
            "saml.security.xsw-matrix.in-advice.copied",
            "saml.security.xsw-matrix.in-advice.left-in-place",
            "saml.security.xsw-matrix.in-advice.moved",
            "saml.security.xsw-matrix.in-extensions.copied",
            "saml.security.xsw-matrix.in-extensions.left-in-place",
            "saml.security.xsw-matrix.in-extensions.moved",
            "saml.security.xsw-matrix.in-issuer.copied",
            "saml.security.xsw-matrix.in-issuer.left-in-place",
            "saml.security.xsw-matrix.in-issuer.moved",
            "saml.security.xsw-matrix.in-nested-response.copied",
            "saml.security.xsw-matrix.in-nested-response.left-in-place",
            "saml.security.xsw-matrix.in-nested-response.moved",
            "saml.security.xsw-matrix.in-signature-object.copied",
            "saml.security.xsw-matrix.in-signature-object.left-in-place",
            "saml.security.xsw-matrix.in-signature-object.moved",
            "saml.security.xsw-matrix.in-subject.copied",
            "saml.security.xsw-matrix.in-subject.left-in-place",
            "saml.security.xsw-matrix.in-subject.moved",
            "saml.security.xsw-matrix.sibling-before.copied",
            "saml.security.xsw-matrix.sibling-before.left-in-place",
            "saml.security.xsw-matrix.sibling-before.moved",
            "saml.security.xsw1",
            "saml.security.xsw2",
            "saml.security.xsw4",
            "saml.security.xsw6",
            "saml.security.xsw8",
        ],
    ),
    (
        "saml-decrypted-unverified",
        &[
            "saml.security.encrypted-unsigned-inner",
            "saml.security.encrypted-wrong-key",
        ],
    ),
    (
        "saml-deprovisioned-allowed",
        &["saml.deprovisioned-user.rejected"],
    ),
    ("saml-digest-first-node", &["saml.security.digest-comment"]),
    (
        "saml-email-nameid-only",
        &[
            "saml.name-id.persistent",
            "saml.sp-initiated.name-id-unspecified",
        ],
    ),
    (
        "saml-encryption-cbc-only",
        &["saml.encryption.aes-gcm", "saml.encryption.rsa-oaep-sha256"],
    ),
    (
        "saml-encryption-unsupported",
        &[
            "saml.encryption.aes-gcm",
            "saml.encryption.aes128-cbc",
            "saml.encryption.aes256-cbc",
            "saml.encryption.rsa-oaep-sha256",
        ],
    ),
    (
        "saml-fetch-external-entities",
        &[
            "saml.security.dtd",
            "saml.security.entity-expansion",
            "saml.security.xxe",
        ],
    ),
    (
        "saml-ignore-status",
        &[
            "saml.security.signed-error-response",
            "saml.security.status-not-success",
        ],
    ),
    (
        "saml-inresponseto-any-session",
        &["saml.security.in-response-to-other-session"],
    ),
    (
        "saml-jit-disabled",
        &["saml.deprovisioned-user.rejected", "saml.jit.new-user"],
    ),
    ("saml-metadata-expired-cert", &["saml.sp-metadata.sane"]),
    (
        "saml-multiple-assertions",
        &["saml.security.multiple-assertions"],
    ),
    (
        "saml-no-audience-check",
        &["saml.security.audience-mismatch"],
    ),
    (
        "saml-no-destination-check",
        &["saml.security.destination-mismatch"],
    ),
    (
        "saml-no-digest-check",
        &[
            "saml.security.digest-comment",
            "saml.security.tampered-attributes",
            "saml.security.tampered-nameid",
        ],
    ),
    (
        "saml-no-inresponseto-check",
        &[
            "saml.security.in-response-to-other-session",
            "saml.security.in-response-to-unknown",
        ],
    ),
    ("saml-no-issuer-check", &["saml.security.issuer-mismatch"]),
    (
        "saml-no-recipient-check",
        &["saml.security.recipient-mismatch"],
    ),
    ("saml-no-replay-cache", &["saml.security.replay"]),
    (
        "saml-no-subject-expiry-check",
        &["saml.security.subject-confirmation-expired"],
    ),
    (
        "saml-no-time-check",
        &[
            "saml.security.clock-skew",
            "saml.security.expired",
            "saml.security.not-yet-valid",
            "saml.security.subject-confirmation-expired",
        ],
    ),
    (
        "saml-open-redirect",
        &["saml.security.relay-state-open-redirect"],
    ),
    (
        "saml-parser-differential",
        &[
            "saml.security.duplicate-id",
            "saml.security.multiple-assertions",
            "saml.security.reference-uri-mismatch",
            "saml.security.xsw-matrix.in-advice.copied",
            "saml.security.xsw-matrix.in-advice.left-in-place",
            "saml.security.xsw-matrix.in-advice.moved",
            "saml.security.xsw-matrix.in-extensions.copied",
            "saml.security.xsw-matrix.in-extensions.left-in-place",
            "saml.security.xsw-matrix.in-extensions.moved",
            "saml.security.xsw-matrix.in-issuer.copied",
            "saml.security.xsw-matrix.in-issuer.left-in-place",
            "saml.security.xsw-matrix.in-issuer.moved",
            "saml.security.xsw-matrix.in-nested-response.copied",
            "saml.security.xsw-matrix.in-nested-response.left-in-place",
            "saml.security.xsw-matrix.in-nested-response.moved",
            "saml.security.xsw-matrix.in-signature-object.copied",
            "saml.security.xsw-matrix.in-signature-object.left-in-place",
            "saml.security.xsw-matrix.in-signature-object.moved",
            "saml.security.xsw-matrix.in-subject.copied",
            "saml.security.xsw-matrix.in-subject.left-in-place",
            "saml.security.xsw-matrix.in-subject.moved",
            "saml.security.xsw-matrix.second-root.copied",
            "saml.security.xsw-matrix.second-root.left-in-place",
            "saml.security.xsw-matrix.second-root.moved",
            "saml.security.xsw-matrix.sibling-after.copied",
            "saml.security.xsw-matrix.sibling-after.left-in-place",
            "saml.security.xsw-matrix.sibling-after.moved",
            "saml.security.xsw-matrix.trailing-content.copied",
            "saml.security.xsw-matrix.trailing-content.left-in-place",
            "saml.security.xsw-matrix.trailing-content.moved",
            "saml.security.xsw1",
            "saml.security.xsw2",
            "saml.security.xsw3",
            "saml.security.xsw4",
            "saml.security.xsw5",
            "saml.security.xsw6",
            "saml.security.xsw8",
        ],
    ),
    ("saml-request-bad-id", &["saml.authn-request.id"]),
    (
        "saml-request-bad-nameid-format",
        &["saml.authn-request.name-id-policy"],
    ),
    (
        "saml-request-bad-signature",
        &["saml.authn-request.signature"],
    ),
    (
        "saml-request-no-destination",
        &["saml.authn-request.destination"],
    ),
    (
        "saml-request-stale-instant",
        &["saml.authn-request.issue-instant"],
    ),
    ("saml-request-wrong-acs", &["saml.authn-request.acs"]),
    ("saml-request-wrong-issuer", &["saml.authn-request.issuer"]),
    (
        "saml-request-wrong-version",
        &["saml.authn-request.version"],
    ),
    ("saml-shared-tenant-trust", &["saml.security.cross-tenant"]),
    (
        "saml-signature-optional",
        &[
            "saml.security.empty-signature-value",
            "saml.security.encrypted-unsigned-inner",
            "saml.security.unsigned",
        ],
    ),
    (
        "saml-signature-unbound",
        &[
            "saml.security.duplicate-id",
            "saml.security.multiple-assertions",
            "saml.security.reference-uri-mismatch",
            "saml.security.xsw-matrix.in-advice.copied",
            "saml.security.xsw-matrix.in-advice.left-in-place",
            "saml.security.xsw-matrix.in-advice.moved",
            "saml.security.xsw-matrix.in-extensions.copied",
            "saml.security.xsw-matrix.in-extensions.left-in-place",
            "saml.security.xsw-matrix.in-extensions.moved",
            "saml.security.xsw-matrix.in-issuer.copied",
            "saml.security.xsw-matrix.in-issuer.left-in-place",
            "saml.security.xsw-matrix.in-issuer.moved",
            "saml.security.xsw-matrix.in-nested-response.copied",
            "saml.security.xsw-matrix.in-nested-response.left-in-place",
            "saml.security.xsw-matrix.in-nested-response.moved",
            "saml.security.xsw-matrix.in-signature-object.copied",
            "saml.security.xsw-matrix.in-signature-object.left-in-place",
            "saml.security.xsw-matrix.in-signature-object.moved",
            "saml.security.xsw-matrix.in-subject.copied",
            "saml.security.xsw-matrix.in-subject.left-in-place",
            "saml.security.xsw-matrix.in-subject.moved",
            "saml.security.xsw-matrix.sibling-after.copied",
            "saml.security.xsw-matrix.sibling-after.left-in-place",
            "saml.security.xsw-matrix.sibling-after.moved",
            "saml.security.xsw1",
            "saml.security.xsw2",
            "saml.security.xsw3",
            "saml.security.xsw4",
            "saml.security.xsw5",
            "saml.security.xsw6",
            "saml.security.xsw8",
        ],
    ),
    (
        "saml-trust-cert-by-subject",
        &[
            "saml.security.encrypted-wrong-key",
            "saml.security.keyinfo-cert-substitution",
            "saml.security.wrong-key",
        ],
    ),
    (
        "saml-trust-keyinfo",
        &[
            "saml.security.encrypted-wrong-key",
            "saml.security.keyinfo-cert-substitution",
            "saml.security.wrong-key",
        ],
    ),
    (
        "saml-wrong-idp-cert",
        &[
            "saml.deprovisioned-user.rejected",
            "saml.encryption.aes-gcm",
            "saml.encryption.aes128-cbc",
            "saml.encryption.aes256-cbc",
            "saml.encryption.rsa-oaep-sha256",
            "saml.idp-initiated.login",
            "saml.jit.new-user",
            "saml.name-id.persistent",
            "saml.sp-initiated.login",
            "saml.sp-initiated.name-id-unspecified",
        ],
    ),
    ("scim-429-no-retry-after", &[]),
    (
        "scim-active-ignored",
        &[
            "saml.deprovisioned-user.rejected",
            "scim.entra.flag-disable-boolean",
            "scim.entra.user-active-add",
            "scim.entra.user-disable",
            "scim.okta.crud-deactivate",
            "scim.users.deactivate",
        ],
    ),
    (
        "scim-attributes-ignored",
        &["scim.users.attributes-projection"],
    ),
    ("scim-bad-filter-500", &["scim.users.filter-invalid"]),
    (
        "scim-capitalised-ops-rejected",
        &[
            "scim.entra.group-add-member",
            "scim.entra.group-remove-member",
            "scim.entra.group-update-displayname",
            "scim.entra.user-active-add",
            "scim.entra.user-disable",
            "scim.entra.user-manager-add",
            "scim.entra.user-manager-remove",
            "scim.entra.user-null-update",
            "scim.entra.user-patch-add-single-valued",
            "scim.entra.user-patch-replace-verbose",
            "scim.entra.user-update-username",
        ],
    ),
    (
        "scim-count-ignored",
        &[
            "scim.entra.user-pagination",
            "scim.okta.import-paging",
            "scim.okta.s1-list-users",
            "scim.pagination.integers",
        ],
    ),
    (
        "scim-create-200",
        &[
            "scim.groups.create",
            "scim.okta.group-push-create",
            "scim.okta.import-paging",
            "scim.okta.s5-s8-create-user",
            "scim.users.create",
            "scim.users.enterprise-extension",
            "scim.users.etag",
            "scim.users.if-match",
            "scim.users.location-and-meta",
        ],
    ),
    (
        "scim-deactivated-hidden",
        &[
            "scim.entra.flag-disable-boolean",
            "scim.entra.user-active-add",
            "scim.entra.user-disable",
            "scim.okta.crud-deactivate",
            "scim.users.deactivate",
        ],
    ),
    (
        "scim-delete-still-readable",
        &[
            "scim.entra.group-delete",
            "scim.entra.group-delete-twice",
            "scim.entra.user-delete",
            "scim.entra.user-delete-twice",
            "scim.groups.delete",
            "scim.okta.group-delete",
            "scim.users.delete",
        ],
    ),
    (
        "scim-delete-unknown-204",
        &[
            "scim.entra.group-delete-non-existent",
            "scim.entra.group-delete-twice",
            "scim.entra.user-delete-non-existent",
            "scim.entra.user-delete-twice",
        ],
    ),
    (
        "scim-empty-filter-404",
        &[
            "scim.entra.group-filter-non-existing",
            "scim.entra.group-update-displayname",
            "scim.entra.test-connection",
            "scim.entra.user-delete",
            "scim.entra.user-filter-externalid",
            "scim.entra.user-filter-non-existing",
            "scim.entra.user-filter-work-email",
            "scim.entra.user-update-username",
            "scim.okta.s3-filter-unknown-username",
            "scim.okta.s5-s8-create-user",
            "scim.okta.s9-username-case",
            "scim.users.filter-no-match",
        ],
    ),
    (
        "scim-enterprise-dropped",
        &[
            "scim.entra.flag-replace-multiple",
            "scim.entra.user-create",
            "scim.entra.user-manager-add",
            "scim.entra.user-manager-replace",
            "scim.entra.user-null-update",
            "scim.entra.user-patch-replace-verbose",
            "scim.users.enterprise-extension",
        ],
    ),
    (
        "scim-error-no-schema",
        &[
            "scim.errors.format",
            "scim.okta.s11-bad-token",
            "scim.okta.s12-not-found-error",
            "scim.okta.s4-unknown-id",
        ],
    ),
    (
        "scim-excluded-attributes-ignored",
        &[
            "scim.entra.group-filter-excluding-members",
            "scim.entra.group-get-excluding-members",
            "scim.users.attributes-projection",
        ],
    ),
    (
        "scim-filter-case-sensitive",
        &[
            "scim.entra.group-filter-case",
            "scim.entra.user-filter-case",
            "scim.okta.s9-username-case",
            "scim.users.filter-case-insensitive",
        ],
    ),
    (
        "scim-get-drops-attributes",
        &[
            "scim.entra.flag-replace-multiple",
            "scim.entra.user-create",
            "scim.entra.user-null-update",
            "scim.entra.user-patch-replace-verbose",
            "scim.entra.user-string-booleans",
            "scim.entra.values-stored-as-sent",
            "scim.okta.crud-profile-update",
            "scim.okta.s2-get-user",
            "scim.okta.s5-s8-create-user",
            "scim.users.get",
            "scim.users.if-match",
            "scim.users.patch-replace",
            "scim.users.replace",
        ],
    ),
    (
        "scim-group-duplicate-accepted",
        &["scim.entra.group-duplicate"],
    ),
    (
        "scim-groups-attr-missing",
        &["scim.groups.user-groups-attribute"],
    ),
    (
        "scim-groups-endpoint-missing",
        &[
            "scim.entra.group-filter-case",
            "scim.entra.group-filter-excluding-members",
            "scim.entra.group-filter-existing",
            "scim.entra.group-filter-non-existing",
            "scim.entra.group-update-displayname",
            "scim.entra.test-connection",
            "scim.okta.group-lookup",
            "scim.okta.s10-groups-endpoint",
            "scim.okta.s10-groups-latency",
        ],
    ),
    ("scim-id-mutable", &["scim.users.id-immutable"]),
    ("scim-if-match-ignored", &["scim.users.if-match"]),
    (
        "scim-json-content-type-rejected",
        &[
            "scim.okta.group-push-create",
            "scim.okta.import-paging",
            "scim.okta.s1-list-users",
            "scim.okta.s5-s8-create-user",
            "scim.okta.s9-username-case",
        ],
    ),
    ("scim-malformed-json-500", &["scim.users.malformed-json"]),
    (
        "scim-member-add-ignored",
        &[
            "scim.entra.group-add-member",
            "scim.entra.group-multiple-ops-same-attr",
            "scim.groups.add-member",
            "scim.groups.user-groups-attribute",
            "scim.okta.group-add-member",
            "scim.okta.group-remove-member",
        ],
    ),
    (
        "scim-member-filter-remove-ignored",
        &[
            "scim.entra.flag-remove-member-filter",
            "scim.entra.group-multiple-ops-same-attr",
            "scim.groups.remove-member",
            "scim.okta.group-remove-member",
        ],
    ),
    (
        "scim-member-value-remove-clears-all",
        &["scim.entra.group-remove-member"],
    ),
    (
        "scim-missing-username-accepted",
        &["scim.users.missing-username"],
    ),
    (
        "scim-no-409",
        &[
            "scim.entra.user-duplicate",
            "scim.okta.s5-s8-create-user",
            "scim.okta.s9-username-case",
            "scim.users.duplicate",
        ],
    ),
    (
        "scim-no-auth",
        &["scim.auth.required", "scim.okta.s11-bad-token"],
    ),
    ("scim-no-etag", &["scim.users.etag"]),
    ("scim-no-location", &["scim.users.location-and-meta"]),
    (
        "scim-no-service-provider-config",
        &[
            "scim.discovery.service-provider-config",
            "scim.entra.discovery",
        ],
    ),
    (
        "scim-pagination-strings",
        &[
            "scim.discovery.resource-types",
            "scim.discovery.schemas",
            "scim.entra.flag-disable-boolean",
            "scim.entra.group-filter-case",
            "scim.entra.group-filter-excluding-members",
            "scim.entra.group-filter-existing",
            "scim.entra.group-filter-non-existing",
            "scim.entra.group-update-displayname",
            "scim.entra.test-connection",
            "scim.entra.user-delete",
            "scim.entra.user-disable",
            "scim.entra.user-filter-case",
            "scim.entra.user-filter-existing",
            "scim.entra.user-filter-externalid",
            "scim.entra.user-filter-non-existing",
            "scim.entra.user-filter-work-email",
            "scim.entra.user-pagination",
            "scim.entra.user-update-username",
            "scim.okta.entitlements-roles",
            "scim.okta.group-lookup",
            "scim.okta.import-paging",
            "scim.okta.s1-list-users",
            "scim.okta.s3-filter-unknown-username",
            "scim.okta.s5-s8-create-user",
            "scim.okta.s9-username-case",
            "scim.pagination.integers",
            "scim.pagination.stable-order",
            "scim.users.filter-case-insensitive",
            "scim.users.filter-eq",
            "scim.users.filter-no-match",
            "scim.users.filter-operators",
        ],
    ),
    ("scim-password-returned", &["scim.okta.s5-s8-create-user"]),
    (
        "scim-patch-first-op-only",
        &[
            "scim.entra.flag-replace-multiple",
            "scim.entra.group-multiple-ops-same-attr",
            "scim.entra.user-multiple-ops-different-attrs",
            "scim.entra.user-multiple-ops-same-attr",
            "scim.entra.user-null-update",
            "scim.entra.user-patch-add-single-valued",
            "scim.entra.user-patch-replace-verbose",
        ],
    ),
    (
        "scim-patch-path-ignored",
        &[
            "scim.entra.flag-disable-boolean",
            "scim.entra.flag-replace-multiple",
            "scim.entra.group-update-displayname",
            "scim.entra.user-active-add",
            "scim.entra.user-disable",
            "scim.entra.user-manager-add",
            "scim.entra.user-manager-replace",
            "scim.entra.user-multiple-ops-different-attrs",
            "scim.entra.user-multiple-ops-same-attr",
            "scim.entra.user-null-update",
            "scim.entra.user-patch-add-single-valued",
            "scim.entra.user-patch-replace-verbose",
            "scim.entra.user-update-username",
            "scim.roles.attribute-change",
            "scim.users.deactivate",
            "scim.users.patch-replace",
        ],
    ),
    (
        "scim-pathless-patch-rejected",
        &[
            "saml.deprovisioned-user.rejected",
            "scim.entra.flag-replace-multiple",
            "scim.entra.group-patch-replace-attributes",
            "scim.entra.user-update-username",
            "scim.okta.crud-deactivate",
            "scim.okta.crud-reactivate",
            "scim.okta.group-rename",
        ],
    ),
    (
        "scim-plain-json-responses",
        &["scim.entra.content-type", "scim.errors.format"],
    ),
    (
        "scim-put-ignored",
        &["scim.okta.crud-profile-update", "scim.users.replace"],
    ),
    ("scim-raw-token-rejected", &["scim.okta.header-token-auth"]),
    (
        "scim-replace-members-appends",
        &["scim.okta.group-push-now"],
    ),
    (
        "scim-roles-count-ignored",
        &["scim.okta.entitlements-roles"],
    ),
    (
        "scim-roles-endpoint-missing",
        &["scim.okta.entitlements-roles"],
    ),
    (
        "scim-roles-not-stored",
        &[
            "scim.entra.user-string-booleans",
            "scim.roles.attribute-change",
        ],
    ),
    ("scim-slow-groups-list", &["scim.okta.s10-groups-latency"]),
    (
        "scim-startindex-zero-based",
        &[
            "scim.entra.flag-disable-boolean",
            "scim.entra.group-filter-case",
            "scim.entra.group-filter-excluding-members",
            "scim.entra.group-filter-existing",
            "scim.entra.group-update-displayname",
            "scim.entra.user-disable",
            "scim.entra.user-filter-case",
            "scim.entra.user-filter-existing",
            "scim.entra.user-filter-externalid",
            "scim.entra.user-filter-work-email",
            "scim.entra.user-pagination",
            "scim.entra.user-update-username",
            "scim.okta.group-lookup",
            "scim.okta.import-paging",
            "scim.pagination.stable-order",
            "scim.users.filter-case-insensitive",
            "scim.users.filter-eq",
        ],
    ),
    (
        "scim-string-booleans-rejected",
        &[
            "scim.entra.user-active-add",
            "scim.entra.user-disable",
            "scim.entra.user-string-booleans",
        ],
    ),
    (
        "scim-unknown-schema-urn-rejected",
        &["scim.entra.group-create"],
    ),
    (
        "scim-unstable-paging",
        &[
            "scim.entra.user-pagination",
            "scim.okta.import-paging",
            "scim.pagination.stable-order",
        ],
    ),
    (
        "scim-username-lowercased",
        &[
            "scim.entra.values-stored-as-sent",
            "scim.okta.s5-s8-create-user",
            "scim.users.username-case-preserved",
        ],
    ),
];

/// Switches that change nothing unless the app rate-limits; the rate-limit test below
/// proves they are caught.
const ONLY_WITH_RATE_LIMIT: &[&str] = &["scim-429-no-retry-after"];

/// Built-in tests no break switch can make fail, with the reason.
const NOT_BREAKABLE: &[(&str, &str)] = &[];

fn demo(args: &[&str]) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    let out = Command::cargo_bin("oinspect")
        .unwrap()
        .args(["demo", "--seed", SEED, "--jobs", "4", "--json"])
        .arg(&json)
        .args(args)
        .env("NO_COLOR", "1")
        .timeout(std::time::Duration::from_secs(120))
        .output()
        .unwrap();
    assert!(
        matches!(out.status.code(), Some(0 | 1 | 3)),
        "demo {args:?} exited {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap()
}

fn outcomes(report: &serde_json::Value, outcome: &str) -> BTreeSet<String> {
    report["tests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["outcome"] == outcome)
        .map(|t| t["id"].as_str().unwrap().to_string())
        .collect()
}

fn switches() -> Vec<String> {
    oinspect::demo::catalogue()
        .iter()
        .map(|b| b.name.to_string())
        .collect()
}

fn observed() -> BTreeMap<String, BTreeSet<String>> {
    switches()
        .into_iter()
        .map(|b| {
            // A switch of one protocol cannot change another protocol's verdicts: SAML
            // switches are judged on the SAML plans, SCIM switches on everything but the
            // SAML security plan (whose logins never consult SCIM). Halves the run time.
            let scope: [&str; 2] = if b.starts_with("scim-") {
                ["--skip", "saml-security"]
            } else {
                ["--only", "saml-*"]
            };
            let report = demo(&["--break", &b, scope[0], scope[1]]);
            let errors = outcomes(&report, "error");
            assert!(
                errors.is_empty(),
                "--break {b}: tests errored instead of judging: {errors:?}"
            );
            (b, outcomes(&report, "fail"))
        })
        .collect()
}

#[test]
fn the_correct_app_passes_everything() {
    let report = demo(&[]);
    let not_passed: Vec<_> = report["tests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["outcome"] != "pass")
        .map(|t| format!("{} {}: {}", t["id"], t["outcome"], t["message"]))
        .collect();
    assert!(not_passed.is_empty(), "{not_passed:#?}");
}

#[test]
fn each_break_fails_exactly_its_checks_and_every_check_can_fail() {
    let observed = observed();
    let expected: BTreeMap<String, BTreeSet<String>> = EXPECTED
        .iter()
        .map(|(b, ids)| (b.to_string(), ids.iter().map(|s| s.to_string()).collect()))
        .collect();
    let mut problems = Vec::new();
    for (b, got) in &observed {
        match expected.get(b) {
            None => problems.push(format!("switch {b} is not in EXPECTED (fails: {got:?})")),
            Some(want) if want != got => problems.push(format!(
                "--break {b}: unexpectedly failing {:?}, unexpectedly passing {:?}",
                got.difference(want).collect::<Vec<_>>(),
                want.difference(got).collect::<Vec<_>>()
            )),
            Some(_) => {}
        }
        let exempt = ONLY_WITH_RATE_LIMIT.contains(&b.as_str());
        if got.is_empty() && !exempt {
            problems.push(format!("--break {b}: no check catches it"));
        }
    }
    for b in expected.keys() {
        if !observed.contains_key(b) {
            problems.push(format!("EXPECTED names unknown switch {b}"));
        }
    }
    let caught: BTreeSet<&String> = observed.values().flatten().collect();
    let not_breakable: BTreeSet<&str> = NOT_BREAKABLE.iter().map(|(id, _)| *id).collect();
    for src in oinspect::plan::builtin::all() {
        let plan = oinspect::plan::load_plan_source(&src).unwrap();
        for t in &plan.tests {
            if !caught.contains(&t.id) && !not_breakable.contains(t.id.as_str()) {
                problems.push(format!("{} fails under no break switch", t.id));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// `--rate-limit` makes every Nth request a 429 with `Retry-After: 0`: oinspect retries as
/// Okta does and everything passes; without the header it cannot, and says why.
#[test]
fn rate_limited_app_is_retried_and_a_missing_retry_after_is_named() {
    let report = demo(&["--rate-limit", "9"]);
    assert!(
        outcomes(&report, "fail").is_empty(),
        "{:?}",
        outcomes(&report, "fail")
    );
    let retried = report["tests"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|t| t["notes"].as_array().unwrap().iter())
        .filter(|n| n.as_str().unwrap().contains("HTTP 429 with Retry-After: 0"))
        .count();
    assert!(retried > 0, "no retry happened");

    let report = demo(&["--rate-limit", "9", "--break", "scim-429-no-retry-after"]);
    let failed: Vec<&serde_json::Value> = report["tests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["outcome"] == "fail")
        .collect();
    assert!(!failed.is_empty());
    assert!(failed.iter().any(|t| {
        t["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["subject"] == "Retry-After header of the 429")
    }));
}

#[test]
#[ignore = "prints the matrix; run with OINSPECT_PRINT_MATRIX=1 to refresh EXPECTED"]
fn print_matrix() {
    if std::env::var_os("OINSPECT_PRINT_MATRIX").is_none() {
        return;
    }
    println!("const EXPECTED: &[(&str, &[&str])] = &[");
    for (b, ids) in observed() {
        let list: Vec<String> = ids.iter().map(|i| format!("\"{i}\"")).collect();
        println!("    (\"{b}\", &[{}]),", list.join(", "));
    }
    println!("];");
}
