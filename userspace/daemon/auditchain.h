/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The audit hash chain (Documentation/tenantd.md, "Audit").  Pure: used by
 * tenantd (append, verify the live database) and tenantctl (verify an
 * exported file offline).
 *
 *   hash(n) = SHA-256( raw(hash(n-1)) || canonical_json(record n) )
 *   hash(0) = 32 zero bytes ("prev" of the first record)
 *
 * canonical_json: the object {"seq","time","uid","pid","role","action",
 * "object","result","detail"} in exactly that key order, json-c plain
 * output (no blanks), strings escaped by json-c, "/" not escaped.
 */
#ifndef TD_AUDITCHAIN_H
#define TD_AUDITCHAIN_H

#include <stdbool.h>
#include <stdint.h>
#include <json-c/json.h>

#define TD_HASH_HEX	65	/* 64 hex digits + NUL */
#define TD_AUDIT_GENESIS \
	"0000000000000000000000000000000000000000000000000000000000000000"

struct td_audit_rec {
	int64_t seq;		/* 1, 2, 3, ... */
	char time[40];		/* RFC 3339 UTC, microseconds */
	int64_t uid;
	int64_t pid;
	char role[48];
	char action[48];
	char object[112];
	char result[24];	/* "ok", "denied", or an error code */
	char detail[160];	/* error message or note, may be empty */
	char prev[TD_HASH_HEX];
	char hash[TD_HASH_HEX];
};

/* Copy @src into @dst (size @n), printable ASCII only ('?' otherwise). */
void td_audit_set(char *dst, size_t n, const char *src);

/* Canonical JSON of the record's content (malloc'd, no prev/hash). */
char *td_audit_canonical(const struct td_audit_rec *r);
/* Compute r->hash from @prev_hex and the content; sets r->prev.  0/-errno. */
int td_audit_seal(struct td_audit_rec *r, const char *prev_hex);

/* Export form: canonical fields plus "prev_hash" and "hash". */
json_object *td_audit_to_json(const struct td_audit_rec *r);
/* Parse the export form; -EINVAL with @err on missing or mistyped fields. */
int td_audit_from_json(json_object *o, struct td_audit_rec *r, char *err,
		       size_t errlen);

struct td_audit_verifier {
	int64_t count;		/* records accepted so far */
	int64_t last_seq;
	char head[TD_HASH_HEX];	/* hash of the last accepted record */
	bool failed;
	char err[256];		/* first failure */
};

void td_audit_verify_init(struct td_audit_verifier *v);
/*
 * Feed the next record in order.  Checks seq = last + 1, prev = head,
 * hash = recomputed.  Returns 0, or -EBADMSG after the first failure
 * (sticky; v->err says which record and what).
 */
int td_audit_verify_step(struct td_audit_verifier *v,
			 const struct td_audit_rec *r);
/*
 * Compare the end of the chain with an anchor (count and head hash kept
 * elsewhere); -EBADMSG on mismatch (truncated or extended chain).
 */
int td_audit_verify_anchor(struct td_audit_verifier *v, int64_t count,
			   const char *head);

#endif /* TD_AUDITCHAIN_H */
