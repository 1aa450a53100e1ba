// SPDX-License-Identifier: GPL-2.0
/*
 * Certificates of sanitization: body hash and the check against the audit
 * record.  See cert.h.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <openssl/sha.h>

#include "cert.h"

void td_cert_body_hash(json_object *cert, char hex[TD_HASH_HEX])
{
	json_object *body = NULL;
	unsigned char md[SHA256_DIGEST_LENGTH];
	const char *text;
	int i;

	/* A copy without "audit"; json-c keeps the key order of the input. */
	if (json_object_deep_copy(cert, &body, NULL) || !body) {
		hex[0] = '\0';
		return;
	}
	json_object_object_del(body, "audit");
	text = json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN |
					      JSON_C_TO_STRING_NOSLASHESCAPE);
	SHA256((const unsigned char *)text, strlen(text), md);
	for (i = 0; i < SHA256_DIGEST_LENGTH; i++)
		sprintf(hex + 2 * i, "%02x", md[i]);
	json_object_put(body);
}

static const char *get_str(json_object *o, const char *k)
{
	json_object *v;

	if (!json_object_object_get_ex(o, k, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

long long td_cert_audit_seq(json_object *cert)
{
	json_object *a, *v;

	if (!json_object_object_get_ex(cert, "audit", &a) ||
	    !json_object_object_get_ex(a, "seq", &v) ||
	    !json_object_is_type(v, json_type_int))
		return -1;
	return (long long)json_object_get_int64(v);
}

#define BAD(...) do { snprintf(msg, msglen, __VA_ARGS__); \
		      return -EBADMSG; } while (0)

int td_cert_check(json_object *cert, const struct td_audit_rec *rec,
		  char *msg, size_t msglen)
{
	struct td_audit_rec again;
	char body[TD_HASH_HEX], want[TD_HASH_HEX + 16], object[112];
	const char *tenant, *volume, *s;
	json_object *a;

	if (!json_object_is_type(cert, json_type_object) ||
	    !json_object_object_get_ex(cert, "audit", &a) ||
	    !json_object_is_type(a, json_type_object))
		BAD("not a certificate (no \"audit\" member)");
	tenant = get_str(cert, "tenant");
	volume = get_str(cert, "volume");
	if (!tenant || !volume)
		BAD("not a certificate (no tenant / volume)");
	td_cert_body_hash(cert, body);
	s = get_str(a, "certificate_sha256");
	if (!s || strcmp(s, body))
		BAD("the certificate was altered: its body hashes to %s, the certificate says %s",
		    body, s ? s : "nothing");
	/* The record itself: intact? */
	again = *rec;
	if (td_audit_seal(&again, rec->prev) || strcmp(again.hash, rec->hash))
		BAD("audit record %lld is altered (its hash does not recompute)",
		    (long long)rec->seq);
	if (rec->seq != td_cert_audit_seq(cert))
		BAD("audit record %lld is not the one the certificate names (%lld)",
		    (long long)rec->seq, td_cert_audit_seq(cert));
	s = get_str(a, "hash");
	if (!s || strcmp(s, rec->hash))
		BAD("audit record %lld has hash %s, the certificate says %s",
		    (long long)rec->seq, rec->hash, s ? s : "nothing");
	if (strcmp(rec->action, "wipe.certificate"))
		BAD("audit record %lld is a '%s', not a wipe.certificate",
		    (long long)rec->seq, rec->action);
	snprintf(object, sizeof(object), "%s/%s", tenant, volume);
	if (strcmp(rec->object, object))
		BAD("audit record %lld covers %s, the certificate %s",
		    (long long)rec->seq, rec->object, object);
	snprintf(want, sizeof(want), "cert-sha256 %s", body);
	if (!strstr(rec->detail, want))
		BAD("audit record %lld does not carry this certificate's hash %s",
		    (long long)rec->seq, body);
	snprintf(msg, msglen, "certificate valid: %s, audit record %lld (%s), body sha256 %s",
		 object, (long long)rec->seq, rec->hash, body);
	return 0;
}
