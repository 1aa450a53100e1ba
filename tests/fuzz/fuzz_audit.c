// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the offline verifiers of exported audit files
 * (tenantctl audit verify FILE [--head H]: tc_verify_file; tenantctl
 * tenant audit-verify FILE: tc_tenant_verify_file), which read files that
 * anyone may have edited.  The input is the file.  Either verifier must
 * answer valid (0) or invalid (8) with a message, and never call a file
 * valid whose records do not chain.  The same lines also go through the
 * certificate check of tenantctl cert verify CERT --audit EXPORT
 * (td_cert_check): the first object with an "audit" member is the
 * certificate, the first audit record the record it is checked against.
 */
#include <errno.h>

#include "../../userspace/cli/tenantctl.h"
#include "../../userspace/daemon/auditchain.h"
#include "../../userspace/daemon/cert.h"

#include "fuzz_common.h"

/* The verifiers never talk to tenantd. */
int tc_call(const char *verb, json_object *args, json_object **reply)
{
	(void)verb;
	json_object_put(args);
	*reply = NULL;
	abort();
}

int tc_raw(int in_fd)
{
	(void)in_fd;
	abort();
}

static int run(int (*verify)(FILE *, const char *, char *, size_t),
	       const uint8_t *data, size_t size, const char *anchor)
{
	char msg[512];
	FILE *f;
	int ex;

	/* An empty file: fmemopen() refuses a zero-length buffer. */
	f = size ? fmemopen((void *)data, size, "r") : fopen("/dev/null", "r");
	CHECK(f);
	msg[0] = '\0';
	ex = verify(f, anchor, msg, sizeof(msg));
	fclose(f);
	CHECK(ex == 0 || ex == 8);
	CHECK(msg[0] && strlen(msg) < sizeof(msg));
	return ex;
}

static int chain(FILE *f, const char *anchor, char *msg, size_t len)
{
	return tc_verify_file(f, anchor, msg, len);
}

static int tenant(FILE *f, const char *anchor, char *msg, size_t len)
{
	(void)anchor;
	return tc_tenant_verify_file(f, msg, len);
}

static void cert_check(const uint8_t *data, size_t size)
{
	char *buf = fuzz_cstr(data, size), *line, *save = NULL, msg[512];
	json_object *cert = NULL, *o;
	struct td_audit_rec rec;
	bool have_rec = false;
	int r;

	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char err[128];

		o = json_tokener_parse(line);
		if (!cert && json_object_is_type(o, json_type_object) &&
		    json_object_object_get_ex(o, "audit", NULL)) {
			cert = o;
			continue;
		}
		if (!have_rec && o &&
		    !td_audit_from_json(o, &rec, err, sizeof(err)))
			have_rec = true;
		json_object_put(o);
	}
	if (cert && have_rec) {
		msg[0] = '\0';
		r = td_cert_check(cert, &rec, msg, sizeof(msg));
		CHECK(r == 0 || r == -EBADMSG);
		CHECK(msg[0] && strlen(msg) < sizeof(msg));
	}
	json_object_put(cert);
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int valid = run(chain, data, size, NULL) == 0;

	/* With the genesis hash as the expected head, only an empty
	 * chain is valid. */
	if (run(chain, data, size, TD_AUDIT_GENESIS) == 0)
		CHECK(valid);
	run(tenant, data, size, NULL);
	cert_check(data, size);
	return 0;
}
