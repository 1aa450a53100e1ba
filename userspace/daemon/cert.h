/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Certificates of sanitization (Documentation/destruction.md): the binding
 * between a certificate and the audit record that covers it.  Pure (json-c,
 * libcrypto): used by tenantd (issue) and tenantctl (verify offline).
 *
 *   body            the certificate without its "audit" member
 *   body hash       SHA-256 of the body as json-c plain output (key order
 *                   as written, "/" not escaped), hex
 *   audit record    action "wipe.certificate", object "<tenant>/<volume>",
 *                   detail "... cert-sha256 <body hash>"
 *   cert.audit      {seq, hash, certificate_sha256} of that record
 */
#ifndef TD_CERT_H
#define TD_CERT_H

#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>

#include "auditchain.h"

/* SHA-256 (hex) of @cert without its "audit" member. */
void td_cert_body_hash(json_object *cert, char hex[TD_HASH_HEX]);

/*
 * Check @cert against @rec (the audit record named by cert.audit.seq):
 * the body hash, the record's own hash (recomputed from its prev_hash and
 * content), the record's hash in the certificate, action, object and the
 * body hash in the record's detail.  0 if all hold, else -EBADMSG with the
 * first problem in @msg.
 */
int td_cert_check(json_object *cert, const struct td_audit_rec *rec,
		  char *msg, size_t msglen);
/* cert.audit.seq, or -1. */
long long td_cert_audit_seq(json_object *cert);

#endif /* TD_CERT_H */
