// SPDX-License-Identifier: GPL-2.0
/*
 * tenantctl: destruction and export verbs (Documentation/destruction.md).
 *
 *   volume delete TENANT VOLUME [WIPE OPTIONS] [--wait] [--cert FILE]
 *   tenant delete TENANT [--force] [WIPE OPTIONS] [--wait] [--cert FILE]
 *   wipe status [TENANT] [--job N] [--wait]
 *   wipe cert JOB [--text] [-o FILE]
 *   cert verify FILE [--audit EXPORT]
 *   tenant audit-export TENANT [-o FILE]
 *   tenant audit-verify FILE
 *
 * WIPE OPTIONS: --wipe crypto-shred|discard|secure-discard|zero|overwrite,
 * --passes N (overwrite), --verify sample|full, --rate MIB (MiB/s).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "../daemon/auditchain.h"
#include "../daemon/cert.h"
#include "../daemon/proto.h"
#include "tenantctl.h"

#define EXIT_OK		0
#define EXIT_ERR	1
#define EXIT_USAGE	2
#define EXIT_INVALID	8

int tc_send_fd = -1;

static int usage(const struct tc_verb *v, const char *why, const char *arg)
{
	fprintf(stderr, "tenantctl: %s%s%s\nusage: tenantctl %s %s %s\n", why,
		arg ? " " : "", arg ? arg : "", v->object, v->verb, v->usage);
	return EXIT_USAGE;
}

/*
 * One request; on success *res is the "result" (owned by *reply, which the
 * caller puts).  On failure the error is printed and the exit code
 * returned.
 */
static int call(const char *verb, json_object *args, json_object **reply,
		json_object **res)
{
	json_object *ok, *err;
	int r = tc_call_coded(verb, args, reply), ex;

	*res = NULL;
	if (r) {
		fprintf(stderr, "tenantctl: cannot talk to tenantd at %s: %s\n",
			opt_socket, strerror(-r));
		return EXIT_ERR;
	}
	if (json_object_object_get_ex(*reply, "ok", &ok) &&
	    json_object_get_boolean(ok)) {
		json_object_object_get_ex(*reply, "result", res);
		return EXIT_OK;
	}
	if (json_object_object_get_ex(*reply, "error", &err)) {
		ex = tc_print_error(*reply);
	} else {
		fprintf(stderr, "tenantctl: malformed reply from tenantd\n");
		ex = EXIT_ERR;
	}
	json_object_put(*reply);
	*reply = NULL;
	return ex;
}

/* --- certificates ------------------------------------------------------- */

/* The readable form of a certificate. */
void tc_cert_text(json_object *c, FILE *f)
{
	json_object *o, *a, *m, *x;
	size_t i;

	fprintf(f, "CERTIFICATE OF SANITIZATION (NIST SP 800-88 Rev. 1, Appendix G)\n");
	fprintf(f, "  tenant / volume:    %s / %s (uuid %s)\n", tc_sget(c, "tenant"),
		tc_sget(c, "volume"), tc_sget(c, "volume_uuid"));
	fprintf(f, "  request, job:       %s, wipe job %" PRId64 "\n",
		tc_sget(c, "request"), tc_iget(c, "job"));
	if (json_object_object_get_ex(c, "operator", &o))
		fprintf(f, "  person:             uid %" PRId64 " (%s), role %s, host %s\n",
			tc_iget(o, "uid"), tc_sget(o, "name"), tc_sget(o, "role"),
			tc_sget(o, "host"));
	fprintf(f, "MEDIA\n");
	if (json_object_object_get_ex(c, "media", &a))
		for (i = 0; i < json_object_array_length(a); i++) {
			m = json_object_array_get_idx(a, i);
			fprintf(f, "  leg %" PRId64 " (%s): %s, %" PRId64
				" bytes, manufacturer %s, model %s, serial %s\n",
				tc_iget(m, "leg"), tc_sget(m, "class"),
				tc_sget(m, "device"), tc_iget(m, "size_bytes"),
				tc_sget(m, "manufacturer"), tc_sget(m, "model"),
				tc_sget(m, "serial"));
		}
	fprintf(f, "SANITIZATION\n");
	if (json_object_object_get_ex(c, "sanitization", &o)) {
		fprintf(f, "  method type:        %s\n", tc_sget(o, "method_type"));
		fprintf(f, "  method used:        %s\n", tc_sget(o, "method_used"));
		fprintf(f, "  keys destroyed:     %s\n", tc_sget(o, "key_destruction"));
		fprintf(f, "  kernel key:         %s\n", tc_sget(o, "kernel_key"));
		fprintf(f, "  tenant KEK:         %s\n", tc_sget(o, "kek"));
		fprintf(f, "  tool:               %s, %s\n", tc_sget(o, "tool"),
			tc_sget(o, "tool_version"));
		fprintf(f, "  started, completed: %s, %s\n", tc_sget(o, "started"),
			tc_sget(o, "completed"));
		fprintf(f, "  interruptions:      %" PRId64 " (each resumed where it stopped)\n",
			tc_iget(o, "interruptions"));
	}
	fprintf(f, "VERIFICATION\n");
	if (json_object_object_get_ex(c, "verification", &o)) {
		fprintf(f, "  method:             %s\n", tc_sget(o, "method"));
		fprintf(f, "  result:             %s\n", tc_sget(o, "result"));
		if (json_object_object_get_ex(o, "legs", &a))
			for (i = 0; i < json_object_array_length(a); i++) {
				x = json_object_array_get_idx(a, i);
				fprintf(f, "  leg %" PRId64 ": %s, %" PRId64
					" bytes read\n", tc_iget(x, "leg"),
					tc_sget(x, "result"), tc_iget(x, "bytes_read"));
			}
	}
	if (json_object_object_get_ex(c, "audit", &o))
		fprintf(f, "AUDIT\n  record %" PRId64 ", hash %s\n  certificate sha256 %s\n",
			tc_iget(o, "seq"), tc_sget(o, "hash"),
			tc_sget(o, "certificate_sha256"));
}

static int write_cert(json_object *cert, const char *path, bool text)
{
	FILE *f = stdout;

	if (path && strcmp(path, "-") && !(f = fopen(path, "wx"))) {
		fprintf(stderr, "tenantctl: %s: %s\n  hint: a certificate is never overwritten; pick a new name\n",
			path, strerror(errno));
		return EXIT_ERR;
	}
	if (text)
		tc_cert_text(cert, f);
	else
		fprintf(f, "%s\n", json_object_to_json_string_ext(cert,
			JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	if (f != stdout && fclose(f)) {
		fprintf(stderr, "tenantctl: %s: %s\n", path, strerror(errno));
		return EXIT_ERR;
	}
	return EXIT_OK;
}

/* --- wipe status -------------------------------------------------------- */

static void print_job(json_object *j)
{
	const char *state = tc_sget(j, "state");

	printf("job %" PRId64 " %s/%s %s: %s", tc_iget(j, "job"), tc_sget(j, "tenant"),
	       tc_sget(j, "volume"), tc_sget(j, "method"), state);
	if (!strcmp(state, "running"))
		printf(" %" PRId64 "%% (leg %" PRId64 ", pass %" PRId64
		       ", %" PRId64 " MiB of %" PRId64 " MiB)",
		       tc_iget(j, "percent"), tc_iget(j, "leg"), tc_iget(j, "pass") + 1,
		       tc_iget(j, "bytes_done") >> 20, tc_iget(j, "bytes_total") >> 20);
	if (tc_iget(j, "resumes"))
		printf(", resumed %" PRId64 "x", tc_iget(j, "resumes"));
	if (strcmp(tc_sget(j, "error"), "-"))
		printf(": %s", tc_sget(j, "error"));
	else if (!strcmp(state, "done") || !strcmp(state, "failed")) {
		json_object *c, *v;

		if (json_object_object_get_ex(j, "certificate", &c) && c &&
		    json_object_object_get_ex(c, "verification", &v))
			printf(", verification %s; certificate: tenantctl wipe cert %" PRId64,
			       tc_sget(v, "result"), tc_iget(j, "job"));
	}
	printf("\n");
}

/*
 * Show jobs (@tenant / @job may be NULL / 0); with @wait poll until none
 * of them runs.  Exit: 0 all done, 1 one failed.
 */
static int status(const char *tenant, int64_t job, bool wait)
{
	struct tc_progress p;
	int64_t shown = 0;

	tc_progress_init(&p, stdout, isatty(1));

	for (;;) {
		json_object *a = json_object_new_object(), *reply, *res, *jobs;
		bool running = false, failed = false;
		size_t i;
		int ex;

		if (tenant)
			json_object_object_add(a, "tenant",
					       json_object_new_string(tenant));
		if (job)
			json_object_object_add(a, "job",
					       json_object_new_int64(job));
		ex = call("wipe.status", a, &reply, &res);
		if (ex)
			return ex;
		if (!json_object_object_get_ex(res, "jobs", &jobs) ||
		    !json_object_is_type(jobs, json_type_array)) {
			fprintf(stderr, "tenantctl: malformed reply from tenantd\n");
			json_object_put(reply);
			return EXIT_ERR;
		}
		for (i = 0; i < json_object_array_length(jobs); i++) {
			json_object *j = json_object_array_get_idx(jobs, i);

			running |= !strcmp(tc_sget(j, "state"), "running");
			failed |= !strcmp(tc_sget(j, "state"), "failed");
		}
		if (!wait || !running) {
			tc_progress_end(&p);
			for (i = 0; i < json_object_array_length(jobs); i++)
				print_job(json_object_array_get_idx(jobs, i));
			if (!json_object_array_length(jobs))
				printf("no wipe jobs\n");
			json_object_put(reply);
			return failed ? EXIT_ERR : EXIT_OK;
		}
		for (i = 0; i < json_object_array_length(jobs); i++) {
			json_object *j = json_object_array_get_idx(jobs, i);
			char label[96];

			if (strcmp(tc_sget(j, "state"), "running"))
				continue;
			/* metrics: a bar on a terminal, a line per 10 % else */
			if (shown != tc_iget(j, "job")) {
				tc_progress_end(&p);
				tc_progress_init(&p, stdout, isatty(1));
				shown = tc_iget(j, "job");
			}
			snprintf(label, sizeof(label), "job %" PRId64 " %s/%s %s",
				 shown, tc_sget(j, "tenant"),
				 tc_sget(j, "volume"), tc_sget(j, "method"));
			tc_progress_update(&p, label,
					   (uint64_t)tc_iget(j, "bytes_done"),
					   (uint64_t)tc_iget(j, "bytes_total"),
					   "B", tc_now_ms());
			break;
		}
		json_object_put(reply);
		usleep(500000);
	}
}

static int wipe_opts(const struct tc_verb *v, int *i, int argc, char **argv,
		     json_object *a, bool *consumed)
{
	const char *o = argv[*i];
	char *end;
	unsigned long n;

	*consumed = false;
	if (strcmp(o, "--wipe") && strcmp(o, "--passes") &&
	    strcmp(o, "--verify") && strcmp(o, "--rate"))
		return 0;
	if (*i + 1 >= argc)
		return usage(v, "missing value for", o);
	*consumed = true;
	(*i)++;
	if (!strcmp(o, "--wipe") || !strcmp(o, "--verify")) {
		json_object_object_add(a, o + 2, json_object_new_string(argv[*i]));
		return 0;
	}
	errno = 0;
	n = strtoul(argv[*i], &end, 10);
	if (errno || *end || argv[*i][0] == '-')
		return usage(v, "not a number:", argv[*i]);
	json_object_object_add(a, o + 2, json_object_new_int64((int64_t)n));
	return 0;
}

/* After a delete: wait for the jobs, fetch the certificate(s). */
static int after_delete(json_object *res, bool wait, const char *cert)
{
	json_object *jobs = NULL;
	size_t i;
	int ex = EXIT_OK;

	if (!json_object_object_get_ex(res, "wipe_jobs", &jobs) ||
	    !json_object_is_type(jobs, json_type_array)) {
		printf("done\n");
		return EXIT_OK;
	}
	for (i = 0; i < json_object_array_length(jobs); i++) {
		json_object *j = json_object_array_get_idx(jobs, i);

		printf("%s/%s: legs crypto-shredded, volume forgotten; wipe job %" PRId64
		       " (%s) started\n", tc_sget(j, "tenant"), tc_sget(j, "volume"),
		       tc_iget(j, "job"), tc_sget(j, "method"));
	}
	if (!wait && !cert) {
		if (json_object_array_length(jobs))
			printf("progress: tenantctl wipe status --job N [--wait]\n");
		return EXIT_OK;
	}
	for (i = 0; i < json_object_array_length(jobs) && !ex; i++) {
		int64_t id = tc_iget(json_object_array_get_idx(jobs, i), "job");
		json_object *a, *reply, *r2, *arr, *c;

		fflush(stdout);
		ex = status(NULL, id, true);
		if (ex || !cert)
			continue;
		a = json_object_new_object();
		json_object_object_add(a, "job", json_object_new_int64(id));
		ex = call("wipe.status", a, &reply, &r2);
		if (ex)
			break;
		c = NULL;
		if (json_object_object_get_ex(r2, "jobs", &arr) &&
		    json_object_is_type(arr, json_type_array) &&
		    json_object_array_length(arr))
			json_object_object_get_ex(json_object_array_get_idx(arr, 0),
						  "certificate", &c);
		if (c) {
			char path[512];

			if (json_object_array_length(jobs) > 1)
				snprintf(path, sizeof(path), "%s.%" PRId64, cert, id);
			else
				snprintf(path, sizeof(path), "%s", cert);
			ex = write_cert(c, path, false);
			if (!ex)
				fprintf(stderr, "certificate of job %" PRId64 " written to %s\n",
					id, path);
		} else {
			fprintf(stderr, "tenantctl: job %" PRId64 " has no certificate\n",
				id);
			ex = EXIT_ERR;
		}
		json_object_put(reply);
	}
	return ex;
}

int tc_volume_delete(const struct tc_verb *v, int argc, char **argv)
{
	const char *pos[2] = { NULL, NULL }, *cert = NULL;
	json_object *a = json_object_new_object(), *reply, *res;
	bool wait = false, used;
	int i, np = 0, ex;

	for (i = 0; i < argc; i++) {
		ex = wipe_opts(v, &i, argc, argv, a, &used);
		if (ex)
			goto bad;
		if (used)
			continue;
		if (!strcmp(argv[i], "--wait")) {
			wait = true;
		} else if (!strcmp(argv[i], "--cert") && i + 1 < argc) {
			cert = argv[++i];
		} else if (argv[i][0] != '-' && np < 2) {
			pos[np++] = argv[i];
		} else {
			ex = usage(v, "unexpected", argv[i]);
			goto bad;
		}
	}
	if (np != 2) {
		ex = usage(v, "expected TENANT VOLUME", NULL);
		goto bad;
	}
	{
		json_object *b = json_object_new_object();

		json_object_object_add(b, "tenant",
				       json_object_new_string(pos[0]));
		json_object_object_add(b, "volume",
				       json_object_new_string(pos[1]));
		json_object_object_foreach(a, k, val)
			json_object_object_add(b, k, json_object_get(val));
		json_object_put(a);
		a = b;
	}
	ex = call("volume.delete", a, &reply, &res);
	if (ex)
		return ex;
	ex = after_delete(res, wait, cert);
	json_object_put(reply);
	return ex;
bad:
	json_object_put(a);
	return ex;
}

int tc_tenant_delete(const struct tc_verb *v, int argc, char **argv)
{
	const char *t = NULL, *cert = NULL;
	json_object *a = json_object_new_object(), *reply, *res;
	bool wait = false, used;
	bool force = false;
	int i, ex;

	for (i = 0; i < argc; i++) {
		ex = wipe_opts(v, &i, argc, argv, a, &used);
		if (ex)
			goto bad;
		if (used)
			continue;
		if (!strcmp(argv[i], "--force")) {
			force = true;
		} else if (!strcmp(argv[i], "--wait")) {
			wait = true;
		} else if (!strcmp(argv[i], "--cert") && i + 1 < argc) {
			cert = argv[++i];
		} else if (!t && argv[i][0] != '-') {
			t = argv[i];
		} else {
			ex = usage(v, "unexpected", argv[i]);
			goto bad;
		}
	}
	if (!t) {
		ex = usage(v, "expected TENANT", NULL);
		goto bad;
	}
	{
		/* tenant first, then force, then the wipe options */
		json_object *b = json_object_new_object();

		json_object_object_add(b, "tenant", json_object_new_string(t));
		if (force)
			json_object_object_add(b, "force",
					       json_object_new_boolean(1));
		json_object_object_foreach(a, k, val)
			json_object_object_add(b, k, json_object_get(val));
		json_object_put(a);
		a = b;
	}
	ex = call("tenant.delete", a, &reply, &res);
	if (ex)
		return ex;
	printf("tenant %s deleted: KEK destroyed, %" PRId64 " volume(s) crypto-shredded\n",
	       t, tc_iget(res, "volumes_shredded"));
	ex = after_delete(res, wait, cert);
	json_object_put(reply);
	return ex;
bad:
	json_object_put(a);
	return ex;
}

int tc_wipe_status(const struct tc_verb *v, int argc, char **argv)
{
	const char *t = NULL;
	int64_t job = 0;
	bool wait = false;
	int i;

	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--wait"))
			wait = true;
		else if (!strcmp(argv[i], "--job") && i + 1 < argc)
			job = strtoll(argv[++i], NULL, 10);
		else if (!t && argv[i][0] != '-')
			t = argv[i];
		else
			return usage(v, "unexpected", argv[i]);
	}
	return status(t, job, wait);
}

int tc_wipe_cert(const struct tc_verb *v, int argc, char **argv)
{
	const char *out = NULL;
	json_object *a, *reply, *res, *arr, *c = NULL;
	int64_t job = 0;
	bool text = false;
	int i, ex;

	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--text"))
			text = true;
		else if ((!strcmp(argv[i], "-o") ||
			  !strcmp(argv[i], "--output")) && i + 1 < argc)
			out = argv[++i];
		else if (!job && argv[i][0] != '-')
			job = strtoll(argv[i], NULL, 10);
		else
			return usage(v, "unexpected", argv[i]);
	}
	if (job <= 0)
		return usage(v, "expected JOB (see 'tenantctl wipe status')", NULL);
	a = json_object_new_object();
	json_object_object_add(a, "job", json_object_new_int64(job));
	ex = call("wipe.status", a, &reply, &res);
	if (ex)
		return ex;
	if (json_object_object_get_ex(res, "jobs", &arr) &&
	    json_object_is_type(arr, json_type_array) &&
	    json_object_array_length(arr))
		json_object_object_get_ex(json_object_array_get_idx(arr, 0),
					  "certificate", &c);
	if (!c) {
		fprintf(stderr, "tenantctl: no certificate for job %" PRId64
			" (not finished, failed, or not yours)\n  hint: tenantctl wipe status --job %" PRId64 "\n",
			job, job);
		json_object_put(reply);
		return EXIT_ERR;
	}
	ex = write_cert(c, out, text);
	json_object_put(reply);
	return ex;
}

/* The audit record @seq from an export file (either export format). */
static int record_from_file(const char *path, int64_t seq,
			    struct td_audit_rec *rec, char *msg, size_t len)
{
	FILE *f = fopen(path, "re");
	char *line = NULL;
	size_t cap = 0;
	int r = -ENOENT;

	if (!f) {
		snprintf(msg, len, "%s: %s", path, strerror(errno));
		return -errno;
	}
	while (getline(&line, &cap, f) >= 0) {
		json_object *o = json_tokener_parse(line), *s;
		char err[128];

		if (o && json_object_object_get_ex(o, "seq", &s) &&
		    json_object_get_int64(s) == seq &&
		    !td_audit_from_json(o, rec, err, sizeof(err)))
			r = 0;
		json_object_put(o);
		if (!r)
			break;
	}
	free(line);
	fclose(f);
	if (r)
		snprintf(msg, len, "%s holds no audit record %" PRId64, path, seq);
	return r;
}

/* The audit record @seq from tenantd (the tenant's export, one record). */
static int record_from_daemon(const char *tenant, int64_t seq,
			      struct td_audit_rec *rec, char *msg, size_t len)
{
	json_object *a = json_object_new_object(), *reply, *res, *recs;
	char err[128];
	int ex, r = -ENOENT;

	json_object_object_add(a, "tenant", json_object_new_string(tenant));
	json_object_object_add(a, "after", json_object_new_int64(seq - 1));
	json_object_object_add(a, "limit", json_object_new_int(1));
	ex = call("tenant.audit-export", a, &reply, &res);
	if (ex) {
		snprintf(msg, len, "tenantd did not give the record");
		return -EIO;
	}
	if (json_object_object_get_ex(res, "records", &recs) &&
	    json_object_array_length(recs) &&
	    !td_audit_from_json(json_object_array_get_idx(recs, 0), rec, err,
				sizeof(err)) && rec->seq == seq)
		r = 0;
	else
		snprintf(msg, len, "tenantd has no audit record %" PRId64
			 " for tenant %s", seq, tenant);
	json_object_put(reply);
	return r;
}

int tc_cert_verify(const struct tc_verb *v, int argc, char **argv)
{
	const char *file = NULL, *audit = NULL;
	struct td_audit_rec rec;
	json_object *cert, *t;
	char msg[512];
	int64_t seq;
	int i, r;

	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--audit") && i + 1 < argc)
			audit = argv[++i];
		else if (!file && (argv[i][0] != '-' || !strcmp(argv[i], "-")))
			file = argv[i];
		else
			return usage(v, "unexpected", argv[i]);
	}
	if (!file)
		return usage(v, "expected FILE", NULL);
	cert = json_object_from_file(file);
	if (!cert) {
		printf("certificate INVALID: %s is not JSON (or unreadable)\n", file);
		return EXIT_INVALID;
	}
	seq = td_cert_audit_seq(cert);
	if (seq <= 0 || !json_object_object_get_ex(cert, "tenant", &t)) {
		printf("certificate INVALID: no audit record named\n");
		json_object_put(cert);
		return EXIT_INVALID;
	}
	r = audit ? record_from_file(audit, seq, &rec, msg, sizeof(msg)) :
		record_from_daemon(json_object_get_string(t), seq, &rec, msg,
				   sizeof(msg));
	if (r == -EIO) {
		json_object_put(cert);
		return EXIT_ERR;
	}
	if (!r)
		r = td_cert_check(cert, &rec, msg, sizeof(msg));
	printf("%s%s\n", r ? "certificate INVALID: " : "", msg);
	json_object_put(cert);
	return r ? EXIT_INVALID : EXIT_OK;
}

/* --- tenant audit export ------------------------------------------------ */

int tc_tenant_audit_export(const struct tc_verb *v, int argc, char **argv)
{
	const char *t = NULL, *outp = NULL;
	int64_t after = 0, total = 0, head_seq = 0;
	char head[TD_HASH_HEX] = "";
	FILE *out = stdout;
	int i, ex = EXIT_OK;

	for (i = 0; i < argc; i++) {
		if ((!strcmp(argv[i], "-o") || !strcmp(argv[i], "--output")) &&
		    i + 1 < argc)
			outp = argv[++i];
		else if (!t && argv[i][0] != '-')
			t = argv[i];
		else
			return usage(v, "unexpected", argv[i]);
	}
	if (!t)
		return usage(v, "expected TENANT", NULL);
	if (outp && !(out = fopen(outp, "wx"))) {
		fprintf(stderr, "tenantctl: %s: %s\n  hint: the export never overwrites a file; pick a new name\n",
			outp, strerror(errno));
		return EXIT_ERR;
	}
	for (;;) {
		json_object *a = json_object_new_object(), *reply, *res, *recs;
		size_t n, k;
		bool more;

		json_object_object_add(a, "tenant", json_object_new_string(t));
		json_object_object_add(a, "after", json_object_new_int64(after));
		json_object_object_add(a, "limit", json_object_new_int(1000));
		ex = call("tenant.audit-export", a, &reply, &res);
		if (ex)
			break;
		if (!json_object_object_get_ex(res, "records", &recs) ||
		    !json_object_is_type(recs, json_type_array)) {
			fprintf(stderr, "tenantctl: malformed reply from tenantd\n");
			json_object_put(reply);
			ex = EXIT_ERR;
			break;
		}
		n = json_object_array_length(recs);
		for (k = 0; k < n; k++) {
			json_object *rec = json_object_array_get_idx(recs, k);

			fprintf(out, "%s\n", json_object_to_json_string_ext(rec,
				JSON_C_TO_STRING_PLAIN |
				JSON_C_TO_STRING_NOSLASHESCAPE));
			total++;
		}
		more = json_object_get_boolean(json_object_object_get_ex(res,
			"more", &a) ? a : NULL);
		after = tc_iget(res, "scanned_to");
		head_seq = tc_iget(res, "head_seq");
		snprintf(head, sizeof(head), "%s", tc_sget(res, "head_hash"));
		json_object_put(reply);
		if (!more || !n)
			break;
	}
	if (!ex)
		fprintf(out, "{\"tenant\":\"%s\",\"records\":%" PRId64
			",\"chain_head_seq\":%" PRId64 ",\"chain_head_hash\":\"%s\"}\n",
			t, total, head_seq, head);
	if (out != stdout && fclose(out)) {
		fprintf(stderr, "tenantctl: %s: %s\n", outp, strerror(errno));
		ex = EXIT_ERR;
	}
	if (!ex && outp)
		fprintf(stderr, "exported %" PRId64 " record(s) of tenant %s to %s\n",
			total, t, outp);
	return ex;
}

/*
 * A tenant export: every record's hash recomputes from its prev_hash and
 * content, seqs increase, the last line names the chain head.
 */
int tc_tenant_verify_file(FILE *f, char *msg, size_t msglen)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	long lineno = 0;
	int64_t last = 0, count = 0, want = -1;
	bool trailer = false;

	while ((n = getline(&line, &cap, f)) >= 0) {
		struct td_audit_rec r, again;
		json_object *o, *x;
		char err[128];

		lineno++;
		if (n <= 1)
			continue;
		o = json_tokener_parse(line);
		if (o && json_object_object_get_ex(o, "chain_head_hash", &x)) {
			want = json_object_object_get_ex(o, "records", &x) ?
				json_object_get_int64(x) : -1;
			trailer = true;
			json_object_put(o);
			continue;
		}
		if (!o || trailer || td_audit_from_json(o, &r, err, sizeof(err))) {
			snprintf(msg, msglen, "line %ld: %s", lineno,
				 trailer ? "record after the trailer" :
				 "not an audit record");
			json_object_put(o);
			free(line);
			return EXIT_INVALID;
		}
		json_object_put(o);
		again = r;
		if (r.seq <= last || td_audit_seal(&again, r.prev) ||
		    strcmp(again.hash, r.hash)) {
			snprintf(msg, msglen, "line %ld: record %" PRId64 " %s",
				 lineno, r.seq, r.seq <= last ?
				 "out of order" : "altered (its hash does not recompute)");
			free(line);
			return EXIT_INVALID;
		}
		last = r.seq;
		count++;
	}
	free(line);
	if (!trailer || want != count) {
		snprintf(msg, msglen, "%s", !trailer ?
			 "no trailer line: the export is truncated" :
			 "the trailer counts a different number of records: lines were removed or added");
		return EXIT_INVALID;
	}
	snprintf(msg, msglen, "tenant export valid: %" PRId64
		 " record(s), each hash recomputes, last seq %" PRId64, count, last);
	return EXIT_OK;
}

int tc_tenant_audit_verify(const struct tc_verb *v, int argc, char **argv)
{
	char msg[512];
	FILE *f;
	int ex;

	if (argc != 1)
		return usage(v, "expected FILE", NULL);
	f = strcmp(argv[0], "-") ? fopen(argv[0], "re") : stdin;
	if (!f) {
		fprintf(stderr, "tenantctl: %s: %s\n", argv[0], strerror(errno));
		return EXIT_ERR;
	}
	ex = tc_tenant_verify_file(f, msg, sizeof(msg));
	if (f != stdin)
		fclose(f);
	printf("%s%s\n", ex ? "tenant export INVALID: " : "", msg);
	return ex;
}

/* --- volume export ------------------------------------------------------ */

static int write_all(int fd, const unsigned char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/*
 * volume export: a pipe's write end goes to tenantd with the request; its
 * worker writes the plaintext into it; we copy it to FILE (new, 0600) or
 * stdout, with progress on stderr and the SHA-256 that tenantd audits.
 */
int tc_volume_export(const struct tc_verb *v, int argc, char **argv)
{
	const char *pos[2] = { NULL, NULL }, *outp = NULL;
	json_object *a, *reply, *res;
	unsigned char buf[65536], md[32];
	unsigned int mdlen = 0;
	uint64_t total, got = 0, step;
	EVP_MD_CTX *sc;
	int p[2], out = 1, i, np = 0, ex;
	ssize_t n;

	for (i = 0; i < argc; i++) {
		if ((!strcmp(argv[i], "-o") || !strcmp(argv[i], "--output")) &&
		    i + 1 < argc)
			outp = argv[++i];
		else if (argv[i][0] != '-' && np < 2)
			pos[np++] = argv[i];
		else
			return usage(v, "unexpected", argv[i]);
	}
	if (np != 2)
		return usage(v, "expected TENANT VOLUME", NULL);
	if (!outp && isatty(1)) {
		fprintf(stderr, "tenantctl: refusing to write plaintext to a terminal\n  hint: -o FILE, or redirect standard output\n");
		return EXIT_USAGE;
	}
	if (outp) {
		out = open(outp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (out < 0) {
			fprintf(stderr, "tenantctl: %s: %s\n  hint: the export never overwrites a file; pick a new name\n",
				outp, strerror(errno));
			return EXIT_ERR;
		}
	}
	if (pipe2(p, O_CLOEXEC)) {
		fprintf(stderr, "tenantctl: pipe: %s\n", strerror(errno));
		return EXIT_ERR;
	}
	a = json_object_new_object();
	json_object_object_add(a, "tenant", json_object_new_string(pos[0]));
	json_object_object_add(a, "volume", json_object_new_string(pos[1]));
	tc_send_fd = p[1];
	ex = call("volume.export", a, &reply, &res);
	tc_send_fd = -1;
	close(p[1]);
	if (ex) {
		close(p[0]);
		if (outp) {
			close(out);
			unlink(outp);
		}
		return ex;
	}
	total = (uint64_t)tc_iget(res, "bytes");
	json_object_put(reply);
	step = total / 10 ? total / 10 : 1;
	sc = EVP_MD_CTX_new();
	if (!sc || EVP_DigestInit_ex(sc, EVP_sha256(), NULL) != 1) {
		close(p[0]);
		return EXIT_ERR;
	}
	while ((n = read(p[0], buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (write_all(out, buf, (size_t)n)) {
			fprintf(stderr, "tenantctl: writing the export: %s\n",
				strerror(errno));
			n = -1;
			break;
		}
		EVP_DigestUpdate(sc, buf, (size_t)n);
		if ((got + (uint64_t)n) / step != got / step)
			fprintf(stderr, "export %s/%s: %" PRIu64 " of %" PRIu64 " MiB\n",
				pos[0], pos[1], (got + (uint64_t)n) >> 20,
				total >> 20);
		got += (uint64_t)n;
	}
	explicit_bzero(buf, sizeof(buf));
	close(p[0]);
	EVP_DigestFinal_ex(sc, md, &mdlen);
	EVP_MD_CTX_free(sc);
	if (outp && (fsync(out) || close(out)))
		n = -1;
	if (n < 0 || got != total) {
		fprintf(stderr, "tenantctl: export INCOMPLETE: %" PRIu64 " of %" PRIu64
			" bytes (see tenantd's audit record volume.export.done)\n",
			got, total);
		return EXIT_ERR;
	}
	fprintf(stderr, "exported %s/%s: %" PRIu64 " bytes%s%s, sha256 ", pos[0],
		pos[1], got, outp ? " to " : "", outp ? outp : "");
	for (i = 0; i < (int)mdlen; i++)
		fprintf(stderr, "%02x", md[i]);
	fprintf(stderr, "\n");
	return EXIT_OK;
}
