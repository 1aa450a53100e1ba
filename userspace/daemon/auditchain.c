// SPDX-License-Identifier: GPL-2.0
/*
 * Audit hash chain: canonical record form, sealing and verification.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>

#include "auditchain.h"

void td_audit_set(char *dst, size_t n, const char *src)
{
	size_t i;

	if (!n)
		return;
	for (i = 0; src && src[i] && i + 1 < n; i++) {
		unsigned char c = src[i];

		dst[i] = (c >= ' ' && c < 0x7f) ? (char)c : '?';
	}
	dst[i] = '\0';
}

static json_object *content_json(const struct td_audit_rec *r)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "seq", json_object_new_int64(r->seq));
	json_object_object_add(o, "time", json_object_new_string(r->time));
	json_object_object_add(o, "uid", json_object_new_int64(r->uid));
	json_object_object_add(o, "pid", json_object_new_int64(r->pid));
	json_object_object_add(o, "role", json_object_new_string(r->role));
	json_object_object_add(o, "action", json_object_new_string(r->action));
	json_object_object_add(o, "object", json_object_new_string(r->object));
	json_object_object_add(o, "result", json_object_new_string(r->result));
	json_object_object_add(o, "detail", json_object_new_string(r->detail));
	return o;
}

char *td_audit_canonical(const struct td_audit_rec *r)
{
	json_object *o = content_json(r);
	char *s = strdup(json_object_to_json_string_ext(o,
			JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));

	json_object_put(o);
	return s;
}

static int unhex(const char *hex, unsigned char out[32])
{
	unsigned int i;

	if (strlen(hex) != 64)
		return -EINVAL;
	for (i = 0; i < 32; i++) {
		unsigned int b;

		if (sscanf(hex + 2 * i, "%2x", &b) != 1 ||
		    !strchr("0123456789abcdef", hex[2 * i]) ||
		    !strchr("0123456789abcdef", hex[2 * i + 1]))
			return -EINVAL;
		out[i] = (unsigned char)b;
	}
	return 0;
}

static int compute(const char *prev_hex, const struct td_audit_rec *r,
		   char out[TD_HASH_HEX])
{
	unsigned char prev[32], md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;
	char *canon;
	EVP_MD_CTX *ctx;
	int ok;

	if (unhex(prev_hex, prev))
		return -EINVAL;
	canon = td_audit_canonical(r);
	if (!canon)
		return -ENOMEM;
	ctx = EVP_MD_CTX_new();
	ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) &&
		EVP_DigestUpdate(ctx, prev, sizeof(prev)) &&
		EVP_DigestUpdate(ctx, canon, strlen(canon)) &&
		EVP_DigestFinal_ex(ctx, md, &mdlen) && mdlen == 32;
	EVP_MD_CTX_free(ctx);
	free(canon);
	if (!ok)
		return -EIO;
	for (i = 0; i < 32; i++)
		sprintf(out + 2 * i, "%02x", md[i]);
	return 0;
}

int td_audit_seal(struct td_audit_rec *r, const char *prev_hex)
{
	int ret = compute(prev_hex, r, r->hash);

	if (!ret)
		td_audit_set(r->prev, sizeof(r->prev), prev_hex);
	return ret;
}

json_object *td_audit_to_json(const struct td_audit_rec *r)
{
	json_object *o = content_json(r);

	json_object_object_add(o, "prev_hash", json_object_new_string(r->prev));
	json_object_object_add(o, "hash", json_object_new_string(r->hash));
	return o;
}

static int get_str(json_object *o, const char *key, char *dst, size_t n,
		   char *err, size_t errlen)
{
	json_object *v;
	const char *s;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string)) {
		snprintf(err, errlen, "field '%s' missing or not a string", key);
		return -EINVAL;
	}
	s = json_object_get_string(v);
	if (strlen(s) >= n) {
		snprintf(err, errlen, "field '%s' too long", key);
		return -EINVAL;
	}
	/* Keep the bytes as they are: an edited record must not verify. */
	strcpy(dst, s);
	return 0;
}

static int get_int(json_object *o, const char *key, int64_t *dst, char *err,
		   size_t errlen)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_int)) {
		snprintf(err, errlen, "field '%s' missing or not an integer",
			 key);
		return -EINVAL;
	}
	*dst = json_object_get_int64(v);
	return 0;
}

int td_audit_from_json(json_object *o, struct td_audit_rec *r, char *err,
		       size_t errlen)
{
	memset(r, 0, sizeof(*r));
	if (!json_object_is_type(o, json_type_object)) {
		snprintf(err, errlen, "record is not a JSON object");
		return -EINVAL;
	}
	if (get_int(o, "seq", &r->seq, err, errlen) ||
	    get_str(o, "time", r->time, sizeof(r->time), err, errlen) ||
	    get_int(o, "uid", &r->uid, err, errlen) ||
	    get_int(o, "pid", &r->pid, err, errlen) ||
	    get_str(o, "role", r->role, sizeof(r->role), err, errlen) ||
	    get_str(o, "action", r->action, sizeof(r->action), err, errlen) ||
	    get_str(o, "object", r->object, sizeof(r->object), err, errlen) ||
	    get_str(o, "result", r->result, sizeof(r->result), err, errlen) ||
	    get_str(o, "detail", r->detail, sizeof(r->detail), err, errlen) ||
	    get_str(o, "prev_hash", r->prev, sizeof(r->prev), err, errlen) ||
	    get_str(o, "hash", r->hash, sizeof(r->hash), err, errlen))
		return -EINVAL;
	return 0;
}

void td_audit_verify_init(struct td_audit_verifier *v)
{
	memset(v, 0, sizeof(*v));
	strcpy(v->head, TD_AUDIT_GENESIS);
}

#define VFAIL(...) do {						\
		snprintf(v->err, sizeof(v->err), __VA_ARGS__);	\
		v->failed = true;				\
		return -EBADMSG;				\
	} while (0)

int td_audit_verify_step(struct td_audit_verifier *v,
			 const struct td_audit_rec *r)
{
	char want[TD_HASH_HEX];

	if (v->failed)
		return -EBADMSG;
	/* A partial export may end at the largest seq: nothing follows. */
	if (v->last_seq == INT64_MAX)
		VFAIL("record %" PRId64 " (position %" PRId64
		      "): no record can follow seq %" PRId64,
		      r->seq, v->count + 1, v->last_seq);
	if (r->seq != v->last_seq + 1)
		VFAIL("record %" PRId64 " (position %" PRId64
		      "): expected seq %" PRId64
		      " (a record was deleted, inserted or reordered)",
		      r->seq, v->count + 1, v->last_seq + 1);
	if (strcmp(r->prev, v->head))
		VFAIL("record %" PRId64
		      ": prev_hash does not match the hash of record %" PRId64
		      " (chain broken: deleted, inserted or reordered record)",
		      r->seq, v->last_seq);
	if (compute(v->head, r, want) || strcmp(want, r->hash))
		VFAIL("record %" PRId64
		      ": hash does not match its content (record edited)",
		      r->seq);
	v->count++;
	v->last_seq = r->seq;
	strcpy(v->head, r->hash);
	return 0;
}

int td_audit_verify_anchor(struct td_audit_verifier *v, int64_t count,
			   const char *head)
{
	if (v->failed)
		return -EBADMSG;
	if (count != v->count || strcmp(head, v->head))
		VFAIL("chain ends at record %" PRId64 " (%.16s...) but the anchor says %" PRId64
		      " (%.16s...): records were removed from or added to the end",
		      v->count, v->head, count, head);
	return 0;
}
