// SPDX-License-Identifier: GPL-2.0
/*
 * tenantctl: command-line client of tenantd (see tenantctl(8)).
 *
 *   tenantctl [--socket PATH] [--json] [--timeout SEC] OBJECT VERB ARGS...
 *
 * A verb table maps "OBJECT VERB" to a parser that builds the request
 * arguments and a printer for the reply.  Exit codes: 0 ok, 1 error,
 * 2 usage, 3 denied, 4 not found, 5 conflict, 6 unsupported, 7 busy,
 * 8 audit chain invalid.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "../daemon/auditchain.h"
#include "../daemon/proto.h"
#include "tenantctl.h"

#define EXIT_OK		0
#define EXIT_ERR	1
#define EXIT_USAGE	2
#define EXIT_INVALID	8

const char *opt_socket = TD_DEFAULT_SOCKET;
bool opt_json;
unsigned int opt_timeout = 600;

int tc_usage_err(const struct tc_verb *v, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "tenantctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	if (v)
		fprintf(stderr, "usage: tenantctl %s %s %s\n"
			"       (tenantctl %s %s --help for details)\n",
			v->object, v->verb, v->usage, v->object, v->verb);
	else
		fprintf(stderr, "see 'tenantctl --help'\n");
	return EXIT_USAGE;
}

static int connect_error(int r)
{
	fprintf(stderr, "tenantctl: cannot talk to tenantd at %s: %s\n",
		opt_socket, strerror(-r));
	if (r == -ENOENT || r == -ECONNREFUSED)
		fprintf(stderr, "  hint: is tenantd running? 'systemctl start tenantd', or give the socket with --socket PATH\n");
	else if (r == -EACCES)
		fprintf(stderr, "  hint: the socket's permissions exclude you; see socket-mode in tenantd.conf\n");
	else if (r == -ETIMEDOUT)
		fprintf(stderr, "  hint: raise --timeout (seconds) for long operations\n");
	return EXIT_ERR;
}

/*
 * Run @verb; on success hand the "result" to @print (or print it as JSON
 * with --json).  Returns the exit code.
 */
int tc_print_error(json_object *reply)
{
	const char *code = "internal", *msg = "", *hint = NULL;
	json_object *err, *f;
	int ex;

	if (json_object_object_get_ex(reply, "error", &err)) {
		if (json_object_object_get_ex(err, "code", &f))
			code = json_object_get_string(f);
		if (json_object_object_get_ex(err, "message", &f))
			msg = json_object_get_string(f);
		if (json_object_object_get_ex(err, "hint", &f) && f)
			hint = json_object_get_string(f);
	}
	fprintf(stderr, "tenantctl: %s: %s\n", code, msg);
	if (hint)
		fprintf(stderr, "  hint: %s\n", hint);
	ex = td_err_exit_code(td_err_from_name(code));
	return ex ? ex : EXIT_ERR;
}

static int run(const char *verb, json_object *args,
	       int (*print)(json_object *result, void *arg), void *arg)
{
	json_object *reply, *ok, *res, *f;
	int r = tc_call_coded(verb, args, &reply), ex;

	if (r)
		return connect_error(r);
	if (!json_object_object_get_ex(reply, "ok", &ok)) {
		fprintf(stderr, "tenantctl: malformed reply from tenantd\n");
		json_object_put(reply);
		return EXIT_ERR;
	}
	if (!json_object_get_boolean(ok)) {
		ex = tc_print_error(reply);
		json_object_put(reply);
		return ex;
	}
	json_object_object_get_ex(reply, "result", &res);
	if (opt_json && print != NULL) {
		printf("%s\n", json_object_to_json_string_ext(res,
		       JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
		ex = EXIT_OK;
		/* audit verify: the exit code still tells validity. */
		if (json_object_object_get_ex(res, "valid", &f) &&
		    !json_object_get_boolean(f))
			ex = EXIT_INVALID;
	} else {
		ex = print ? print(res, arg) : EXIT_OK;
	}
	json_object_put(reply);
	return ex;
}

int tc_run(const char *verb, json_object *args,
	   int (*print)(json_object *result, void *arg), void *arg)
{
	return run(verb, args, print, arg);
}

/* --- small helpers -------------------------------------------------------- */

const char *tc_sget(json_object *o, const char *k)
{
	json_object *v;

	if (!json_object_object_get_ex(o, k, &v) || !v)
		return "-";
	return json_object_get_string(v);
}

int64_t tc_iget(json_object *o, const char *k)
{
	json_object *v;

	return json_object_object_get_ex(o, k, &v) ? json_object_get_int64(v) :
		0;
}

json_object *tc_args_tv(const char *tenant, const char *volume)
{
	json_object *a = json_object_new_object();

	if (tenant)
		json_object_object_add(a, "tenant",
				       json_object_new_string(tenant));
	if (volume)
		json_object_object_add(a, "volume",
				       json_object_new_string(volume));
	return a;
}

/* Parse a size with an optional K/M/G/T suffix (powers of 1024). */
int tc_parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	unsigned int shift = 0;

	if (!s || !*s || *s == '-')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	switch (*end) {
	case '\0': break;
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	case 't': case 'T': shift = 40; end++; break;
	default: return -EINVAL;
	}
	if (*end == 'i' || *end == 'B')
		end += (*end == 'i' && end[1] == 'B') ? 2 : 1;
	if (*end || (shift && v > (UINT64_MAX >> shift)))
		return -EINVAL;
	*out = (uint64_t)v << shift;
	return 0;
}

/*
 * Parse "CLASS:DEVICE[:OFFSET]" into a leg object.  The device path may
 * not contain ':' (the offset separator).
 */
int tc_parse_leg(const char *s, json_object **leg)
{
	char buf[TD_PATH_MAX + 32], *dev, *off;
	json_object *o;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	dev = strchr(buf, ':');
	if (!dev)
		return -EINVAL;
	*dev++ = '\0';
	off = strchr(dev, ':');
	if (off)
		*off++ = '\0';
	if (!td_valid_class(buf) || dev[0] != '/')
		return -EINVAL;
	o = json_object_new_object();
	json_object_object_add(o, "class", json_object_new_string(buf));
	json_object_object_add(o, "device", json_object_new_string(dev));
	if (off) {
		uint64_t v;
		char *end;

		errno = 0;
		v = strtoull(off, &end, 10);
		if (errno || !*off || *end || *off == '-') {
			json_object_put(o);
			return -EINVAL;
		}
		json_object_object_add(o, "offset",
				       json_object_new_int64((int64_t)v));
	}
	*leg = o;
	return 0;
}

/* Options of one verb: "--name VALUE" or "--flag"; positional args left. */
struct opts {
	int npos;
	const char *pos[8];
};

static bool want_help(int argc, char **argv)
{
	int i;

	for (i = 0; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return true;
	return false;
}

/* --- printers ----------------------------------------------------------- */

static int print_msg(json_object *res, void *arg)
{
	(void)res;
	printf("%s\n", (const char *)arg);
	return EXIT_OK;
}

static int print_tenants(json_object *res, void *arg)
{
	json_object *arr;
	size_t i, n;

	(void)arg;
	json_object_object_get_ex(res, "tenants", &arr);
	n = json_object_array_length(arr);
	printf("%-24s %-4s %-17s %-7s %s\n", "TENANT", "KEK", "FINGERPRINT",
	       "VOLUMES", "ROTATION");
	for (i = 0; i < n; i++) {
		json_object *t = json_object_array_get_idx(arr, i), *p;

		json_object_object_get_ex(t, "rotation_pending", &p);
		printf("%-24s %-4" PRId64 " %-17s %-7" PRId64 " %s\n",
		       tc_sget(t, "tenant"), tc_iget(t, "kek_generation"),
		       tc_sget(t, "kek_fingerprint"), tc_iget(t, "volumes"),
		       json_object_get_boolean(p) ? "pending" : "-");
	}
	return EXIT_OK;
}

static int print_volumes(json_object *res, void *arg)
{
	json_object *arr;
	size_t i, n;

	(void)arg;
	json_object_object_get_ex(res, "volumes", &arr);
	n = json_object_array_length(arr);
	printf("%-24s %-24s %-4s %-16s %-8s %s\n", "TENANT", "VOLUME", "LEGS",
	       "VM", "ATTACHED", "DM-NAME");
	for (i = 0; i < n; i++) {
		json_object *v = json_object_array_get_idx(arr, i), *a;

		json_object_object_get_ex(v, "attached", &a);
		printf("%-24s %-24s %-4" PRId64 " %-16s %-8s %s\n",
		       tc_sget(v, "tenant"), tc_sget(v, "volume"),
		       tc_iget(v, "nr_legs"), tc_sget(v, "vm"),
		       json_object_get_boolean(a) ? "yes" : "no",
		       tc_sget(v, "dm_name"));
	}
	return EXIT_OK;
}

static int print_status(json_object *res, void *arg)
{
	json_object *legs, *a, *k;
	size_t i;

	(void)arg;
	printf("volume:     %s/%s\n", tc_sget(res, "tenant"), tc_sget(res, "volume"));
	printf("uuid:       %s\n", tc_sget(res, "uuid"));
	printf("vm:         %s\n", tc_sget(res, "vm"));
	printf("size:       %" PRId64 " sectors%s\n", tc_iget(res, "size_sectors"),
	       tc_iget(res, "size_sectors") ? "" : " (whole legs)");
	printf("kek gen:    %" PRId64 "\n", tc_iget(res, "kek_generation"));
	printf("dm name:    %s\n", tc_sget(res, "dm_name"));
	if (json_object_object_get_ex(res, "legs", &legs))
		for (i = 0; i < json_object_array_length(legs); i++) {
			json_object *l = json_object_array_get_idx(legs, i);

			printf("leg %-7" PRId64 " %-6s %s\n", tc_iget(l, "index"),
			       tc_sget(l, "class"), tc_sget(l, "device"));
		}
	if (json_object_object_get_ex(res, "attachment", &a))
		printf("attached:   %s for vm %s, owner uid %s, since %s\n",
		       tc_sget(a, "device"), tc_sget(a, "vm"), tc_sget(a, "owner_uid"),
		       tc_sget(a, "since"));
	else
		printf("attached:   no\n");
	if (json_object_object_get_ex(res, "kernel", &k)) {
		json_object *ls;
		char states[2 * TD_MAX_LEGS + 1] = "";

		if (json_object_object_get_ex(k, "leg_states", &ls))
			for (i = 0; i < json_object_array_length(ls) &&
			     i < TD_MAX_LEGS; i++)
				strcat(states, json_object_get_string(
					json_object_array_get_idx(ls, i)));
		printf("kernel:     key %s, reads %" PRId64 ", writes %" PRId64
		       ", errors r/w/crypt %" PRId64 "/%" PRId64 "/%" PRId64
		       ", leg states %s\n",
		       tc_sget(k, "key_state"), tc_iget(k, "reads"),
		       tc_iget(k, "writes"), tc_iget(k, "read_errors"),
		       tc_iget(k, "write_errors"), tc_iget(k, "crypt_errors"),
		       states);
		tc_print_sync(k);	/* -- metrics -- */
	}
	/* remote: failed remote legs tenantd retries */
	if (json_object_object_get_ex(res, "retry", &a))
		for (i = 0; i < json_object_array_length(a); i++) {
			json_object *r = json_object_array_get_idx(a, i), *h;

			json_object_object_get_ex(r, "held", &h);
			if (json_object_get_boolean(h))
				printf("retry:      leg %" PRId64 " failed through tenantd: not retried until 'leg recover'\n",
				       tc_iget(r, "leg"));
			else
				printf("retry:      leg %" PRId64 " failed %" PRId64 " s ago, %" PRId64 " retries, next in %" PRId64 " s%s%s\n",
				       tc_iget(r, "leg"), tc_iget(r, "failed_for_s"),
				       tc_iget(r, "attempts"), tc_iget(r, "next_retry_s"),
				       json_object_object_get_ex(r, "last_error", &h) ? ", last: " : "",
				       json_object_object_get_ex(r, "last_error", &h) ? json_object_get_string(h) : "");
		}
	return EXIT_OK;
}

/* --- verbs ------------------------------------------------------------- */

static int v_tenant_create(const struct tc_verb *v, int argc, char **argv)
{
	char msg[128];

	if (argc != 1)
		return tc_usage_err(v, "expected TENANT");
	snprintf(msg, sizeof(msg), "tenant %s created", argv[0]);
	return run("tenant.create", tc_args_tv(argv[0], NULL), print_msg, msg);
}

static int v_tenant_list(const struct tc_verb *v, int argc, char **argv)
{
	(void)argv;
	if (argc)
		return tc_usage_err(v, "no arguments expected");
	return run("tenant.list", NULL, print_tenants, NULL);
}

/* tenant delete: tc_tenant_delete (tc-wipe.c). */

static int print_rotate(json_object *res, void *arg)
{
	(void)arg;
	printf("tenant %s: KEK generation %" PRId64 " (%s, was %s), %" PRId64
	       " volume(s) rewrapped\n", tc_sget(res, "tenant"),
	       tc_iget(res, "kek_generation"), tc_sget(res, "kek_fingerprint"),
	       tc_sget(res, "previous_fingerprint"),
	       tc_iget(res, "volumes_rewrapped"));
	return EXIT_OK;
}

static int v_tenant_rotate(const struct tc_verb *v, int argc, char **argv)
{
	if (argc != 1)
		return tc_usage_err(v, "expected TENANT");
	return run("tenant.rotate-kek", tc_args_tv(argv[0], NULL), print_rotate,
		   NULL);
}

static int print_created(json_object *res, void *arg)
{
	(void)arg;
	printf("volume %s/%s created: uuid %s, %" PRId64
	       " leg(s), will attach as /dev/mapper/%s\n",
	       tc_sget(res, "tenant"), tc_sget(res, "volume"), tc_sget(res, "uuid"),
	       tc_iget(res, "nr_legs"), tc_sget(res, "dm_name"));
	return EXIT_OK;
}

static int v_volume_create(const struct tc_verb *v, int argc, char **argv)
{
	json_object *legs = json_object_new_array();
	json_object *devs = json_object_new_array();
	const char *pos[2], *preset = NULL, *vm = NULL;
	uint64_t size = 0;
	bool have_size = false;
	int i, npos = 0, ex;
	json_object *a;

	for (i = 0; i < argc; i++) {
		const char *o = argv[i];
		const char *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (o[0] != '-') {
			if (npos == 2) {
				ex = tc_usage_err(v, "unexpected '%s'", o);
				goto bad;
			}
			pos[npos++] = o;
			continue;
		}
		if (!val) {
			ex = tc_usage_err(v, "%s needs a value", o);
			goto bad;
		}
		i++;
		if (!strcmp(o, "--leg")) {
			json_object *leg;

			if (tc_parse_leg(val, &leg)) {
				ex = tc_usage_err(v, "--leg wants CLASS:DEVICE[:OFFSET] with CLASS local, zone or remote and an absolute DEVICE, got '%s'",
					       val);
				goto bad;
			}
			json_object_array_add(legs, leg);
		} else if (!strcmp(o, "--preset")) {
			preset = val;
		} else if (!strcmp(o, "--devices") || !strcmp(o, "--device")) {
			char *copy = strdup(val), *save = NULL, *d;

			for (d = strtok_r(copy, ",", &save); d;
			     d = strtok_r(NULL, ",", &save))
				json_object_array_add(devs,
						json_object_new_string(d));
			free(copy);
		} else if (!strcmp(o, "--size")) {
			if (tc_parse_size(val, &size)) {
				ex = tc_usage_err(v, "--size wants bytes with an optional K, M, G or T suffix, got '%s'",
					       val);
				goto bad;
			}
			have_size = true;
		} else if (!strcmp(o, "--vm")) {
			vm = val;
		} else {
			ex = tc_usage_err(v, "unknown option '%s'", o);
			goto bad;
		}
	}
	if (npos != 2) {
		ex = tc_usage_err(v, "expected TENANT VOLUME");
		goto bad;
	}
	if (!json_object_array_length(legs) == !preset) {
		ex = tc_usage_err(v, "give the legs with --leg CLASS:DEVICE (repeat it), or --preset lrs|zrs|grs with --devices");
		goto bad;
	}
	if (preset) {
		const struct td_preset *p = td_preset_by_name(preset);

		if (!p) {
			ex = tc_usage_err(v, "unknown preset '%s' (lrs, zrs, grs)",
				       preset);
			goto bad;
		}
		if (json_object_array_length(devs) != p->nlegs) {
			ex = tc_usage_err(v, "preset %s needs %u devices (%s), got %zu",
				       p->name, p->nlegs,
				       !strcmp(p->name, "lrs") ? "3 local" :
				       !strcmp(p->name, "zrs") ?
				       "local, zone, zone" :
				       "3 local, then 3 remote",
				       json_object_array_length(devs));
			goto bad;
		}
	} else if (json_object_array_length(devs)) {
		ex = tc_usage_err(v, "--devices goes with --preset");
		goto bad;
	}
	a = tc_args_tv(pos[0], pos[1]);
	if (preset) {
		json_object_object_add(a, "preset", json_object_new_string(preset));
		json_object_object_add(a, "devices", devs);
		json_object_put(legs);
	} else {
		json_object_object_add(a, "legs", legs);
		json_object_put(devs);
	}
	if (have_size)
		json_object_object_add(a, "size",
				       json_object_new_int64((int64_t)size));
	if (vm)
		json_object_object_add(a, "vm", json_object_new_string(vm));
	return run("volume.create", a, print_created, NULL);
bad:
	json_object_put(legs);
	json_object_put(devs);
	return ex;
}

static int v_volume_list(const struct tc_verb *v, int argc, char **argv)
{
	if (argc > 1)
		return tc_usage_err(v, "expected at most TENANT");
	return run("volume.list", tc_args_tv(argc ? argv[0] : NULL, NULL),
		   print_volumes, NULL);
}

static int v_volume_status(const struct tc_verb *v, int argc, char **argv)
{
	bool watch = argc == 3 && !strcmp(argv[2], "--watch");
	int ex;

	if (argc != 2 && !watch)
		return tc_usage_err(v, "expected TENANT VOLUME [--watch]");
	/* metrics: progress while a resync runs, then the status */
	ex = watch ? tc_volume_watch(argv[0], argv[1], 1000) : 0;
	if (ex)
		return ex;
	return run("volume.status", tc_args_tv(argv[0], argv[1]), print_status,
		   NULL);
}

/* TENANT VOLUME [--vm VM]; @need_vm makes --vm mandatory. */
static int tv_vm(const struct tc_verb *v, int argc, char **argv,
		 bool need_vm, json_object **args)
{
	const char *pos[2], *vm = NULL;
	int i, npos = 0;

	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--vm") && i + 1 < argc) {
			vm = argv[++i];
		} else if (argv[i][0] != '-' && npos < 2) {
			pos[npos++] = argv[i];
		} else {
			return tc_usage_err(v, "unexpected '%s'", argv[i]);
		}
	}
	if (npos != 2)
		return tc_usage_err(v, "expected TENANT VOLUME");
	if (need_vm && !vm)
		return tc_usage_err(v, "--vm VM is required");
	*args = tc_args_tv(pos[0], pos[1]);
	if (vm)
		json_object_object_add(*args, "vm", json_object_new_string(vm));
	return 0;
}

static int v_volume_assign(const struct tc_verb *v, int argc, char **argv)
{
	json_object *a;
	int ex = tv_vm(v, argc, argv, true, &a);

	if (ex)
		return ex;
	return run("volume.assign", a, print_msg, "assigned");
}

static int print_attach(json_object *res, void *arg)
{
	(void)arg;
	printf("attached for VM %s: %s (owner uid %" PRId64 ")\n",
	       tc_sget(res, "vm"), tc_sget(res, "device"), tc_iget(res, "owner_uid"));
	return EXIT_OK;
}

static int v_volume_attach(const struct tc_verb *v, int argc, char **argv)
{
	json_object *a;
	int ex = tv_vm(v, argc, argv, false, &a);

	if (ex)
		return ex;
	return run("volume.attach", a, print_attach, NULL);
}

static int v_volume_simple(const struct tc_verb *v, int argc, char **argv)
{
	char verb[48], msg[96];

	if (argc != 2)
		return tc_usage_err(v, "expected TENANT VOLUME");
	snprintf(verb, sizeof(verb), "volume.%s", v->verb);
	snprintf(msg, sizeof(msg), "%s/%s: %s%s", argv[0], argv[1], v->verb,
		 !strcmp(v->verb, "detach") ? "ed" : "d (legs crypto-shredded)");
	return run(verb, tc_args_tv(argv[0], argv[1]), print_msg, msg);
}

static int v_leg(const struct tc_verb *v, int argc, char **argv)
{
	json_object *a;
	char verb[48], *end;
	unsigned long idx;
	bool force = false;

	if (argc == 4 && !strcmp(argv[3], "--force") &&
	    !strcmp(v->verb, "recover")) {
		force = true;
		argc--;
	}
	if (argc != 3)
		return tc_usage_err(v, "expected TENANT VOLUME LEG-INDEX");
	errno = 0;
	idx = strtoul(argv[2], &end, 10);
	if (errno || *end || argv[2][0] == '-' || idx >= TD_MAX_LEGS)
		return tc_usage_err(v, "LEG-INDEX must be 0..%d", TD_MAX_LEGS - 1);
	a = tc_args_tv(argv[0], argv[1]);
	json_object_object_add(a, "leg", json_object_new_int((int)idx));
	if (force)
		json_object_object_add(a, "force", json_object_new_boolean(1));
	snprintf(verb, sizeof(verb), "leg.%s", v->verb);
	return run(verb, a, print_msg, "done");
}

/* audit export: page through the chain, one JSON line per record. */
static int v_audit_export(const struct tc_verb *v, int argc, char **argv)
{
	const char *outp = NULL;
	int64_t after = 0, total = 0;
	FILE *out = stdout;
	int i, ex = EXIT_OK;

	for (i = 0; i < argc; i++) {
		if ((!strcmp(argv[i], "-o") || !strcmp(argv[i], "--output")) &&
		    i + 1 < argc)
			outp = argv[++i];
		else if (!strcmp(argv[i], "--after") && i + 1 < argc)
			after = strtoll(argv[++i], NULL, 10);
		else
			return tc_usage_err(v, "unexpected '%s'", argv[i]);
	}
	if (outp && !(out = fopen(outp, "wx"))) {
		fprintf(stderr, "tenantctl: %s: %s\n  hint: the export never overwrites a file; pick a new name\n",
			outp, strerror(errno));
		return EXIT_ERR;
	}
	for (;;) {
		json_object *reply, *res, *recs, *more, *ok;
		json_object *a = json_object_new_object();
		size_t n, k;
		int r;

		json_object_object_add(a, "after", json_object_new_int64(after));
		json_object_object_add(a, "limit", json_object_new_int(1000));
		r = tc_call("audit.export", a, &reply);
		if (r) {
			ex = connect_error(r);
			break;
		}
		if (!json_object_object_get_ex(reply, "ok", &ok) ||
		    !json_object_get_boolean(ok)) {
			json_object *e, *f;
			const char *code = "internal";

			if (json_object_object_get_ex(reply, "error", &e)) {
				if (json_object_object_get_ex(e, "code", &f))
					code = json_object_get_string(f);
				fprintf(stderr, "tenantctl: %s: %s\n", code,
					tc_sget(e, "message"));
				if (json_object_object_get_ex(e, "hint", &f))
					fprintf(stderr, "  hint: %s\n",
						json_object_get_string(f));
			}
			ex = td_err_exit_code(td_err_from_name(code));
			json_object_put(reply);
			break;
		}
		json_object_object_get_ex(reply, "result", &res);
		json_object_object_get_ex(res, "records", &recs);
		json_object_object_get_ex(res, "more", &more);
		n = json_object_array_length(recs);
		for (k = 0; k < n; k++) {
			json_object *rec = json_object_array_get_idx(recs, k);

			fprintf(out, "%s\n", json_object_to_json_string_ext(rec,
				JSON_C_TO_STRING_PLAIN |
				JSON_C_TO_STRING_NOSLASHESCAPE));
			after = tc_iget(rec, "seq");
			total++;
		}
		r = !json_object_get_boolean(more) || !n;
		json_object_put(reply);
		if (r)
			break;
	}
	if (out != stdout && fclose(out)) {
		fprintf(stderr, "tenantctl: %s: %s\n", outp, strerror(errno));
		ex = EXIT_ERR;
	} else if (out == stdout) {
		fflush(stdout);
	}
	if (!ex && outp)
		fprintf(stderr, "exported %" PRId64 " record(s) to %s\n",
			total, outp);
	return ex;
}

/* Offline verification of an exported file (JSON lines). */
int tc_verify_file(FILE *f, const char *anchor, char *msg, size_t msglen)
{
	struct td_audit_verifier v;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	long lineno = 0;
	bool first = true;

	td_audit_verify_init(&v);
	while ((n = getline(&line, &cap, f)) >= 0) {
		struct td_audit_rec r;
		json_object *o;
		char err[128];

		lineno++;
		while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (!n)
			continue;
		o = json_tokener_parse(line);
		if (!o || td_audit_from_json(o, &r, err, sizeof(err))) {
			snprintf(msg, msglen, "line %ld: not an audit record%s%s",
				 lineno, o ? ": " : "", o ? err : "");
			json_object_put(o);
			free(line);
			return EXIT_INVALID;
		}
		json_object_put(o);
		if (first && r.seq > 1) {
			/* A partial export: trust its first link. */
			v.last_seq = r.seq - 1;
			snprintf(v.head, sizeof(v.head), "%s", r.prev);
		}
		first = false;
		if (td_audit_verify_step(&v, &r)) {
			snprintf(msg, msglen, "line %ld: %s", lineno, v.err);
			free(line);
			return EXIT_INVALID;
		}
	}
	free(line);
	if (anchor && strcmp(anchor, v.head)) {
		snprintf(msg, msglen,
			 "the chain ends at %s, not at the expected head %s: records are missing at the end (or were added)",
			 v.head, anchor);
		return EXIT_INVALID;
	}
	snprintf(msg, msglen, "audit chain valid: %" PRId64
		 " record(s), last seq %" PRId64 ", head %s", v.count,
		 v.last_seq, v.head);
	return EXIT_OK;
}

static int print_verify(json_object *res, void *arg)
{
	json_object *valid;

	(void)arg;
	json_object_object_get_ex(res, "valid", &valid);
	if (json_object_get_boolean(valid)) {
		printf("audit chain valid: %" PRId64 " record(s), head %s\n",
		       tc_iget(res, "records"), tc_sget(res, "head_hash"));
		return EXIT_OK;
	}
	printf("audit chain INVALID: %s\n", tc_sget(res, "problem"));
	return EXIT_INVALID;
}

static int v_audit_verify(const struct tc_verb *v, int argc, char **argv)
{
	const char *file = NULL, *anchor = NULL;
	char msg[512];
	FILE *f;
	int i, ex;

	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--head") && i + 1 < argc)
			anchor = argv[++i];
		else if (argv[i][0] != '-' || !strcmp(argv[i], "-"))
			file = argv[i];
		else
			return tc_usage_err(v, "unexpected '%s'", argv[i]);
	}
	if (!file) {
		if (anchor)
			return tc_usage_err(v, "--head goes with FILE");
		return run("audit.verify", NULL, print_verify, NULL);
	}
	f = strcmp(file, "-") ? fopen(file, "re") : stdin;
	if (!f) {
		fprintf(stderr, "tenantctl: %s: %s\n", file, strerror(errno));
		return EXIT_ERR;
	}
	ex = tc_verify_file(f, anchor, msg, sizeof(msg));
	if (f != stdin)
		fclose(f);
	if (opt_json) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "valid", json_object_new_boolean(!ex));
		json_object_object_add(o, "message", json_object_new_string(msg));
		printf("%s\n", json_object_to_json_string_ext(o,
		       JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(o);
	} else {
		printf("%s%s\n", ex ? "audit chain INVALID: " : "", msg);
	}
	return ex;
}

const struct tc_verb tc_verbs[] = {
	{ "tenant", "create", "TENANT", "create a tenant and its KEK (operator)",
	  v_tenant_create },
	{ "tenant", "list", "", "list tenants (operator; tenant admin: its own)",
	  v_tenant_list },
	{ "tenant", "delete",
	  "TENANT [--force] [--wipe METHOD] [--passes N] [--verify sample|full] [--rate MIB] [--wait] [--cert FILE]",
	  "destroy a tenant's KEK; --force crypto-shreds and wipes its volumes too (operator)",
	  tc_tenant_delete },
	{ "tenant", "rotate-kek", "TENANT",
	  "new KEK, every keyslot rewrapped online (tenant admin)",
	  v_tenant_rotate },
	{ "volume", "create",
	  "TENANT VOLUME (--leg CLASS:DEVICE[:OFFSET]... | --preset lrs|zrs|grs --devices DEV,...) [--size SIZE] [--vm VM]",
	  "format the legs of a new volume (operator)", v_volume_create },
	{ "volume", "list", "[TENANT]", "list volumes you may see",
	  v_volume_list },
	{ "volume", "status", "TENANT VOLUME [--watch]",
	  "show a volume, its legs and its kernel state; --watch: progress of a running resync first",
	  v_volume_status },
	{ "volume", "assign", "TENANT VOLUME --vm VM",
	  "assign a volume to a VM (operator)", v_volume_assign },
	{ "volume", "attach", "TENANT VOLUME [--vm VM]",
	  "map a volume for a VM, node owned by its hypervisor (operator, hypervisor)",
	  v_volume_attach },
	{ "volume", "detach", "TENANT VOLUME",
	  "unmap a volume, key wiped (operator, hypervisor)", v_volume_simple },
	{ "volume", "delete",
	  "TENANT VOLUME [--wipe crypto-shred|discard|secure-discard|zero|overwrite] [--passes N] [--verify sample|full] [--rate MIB] [--wait] [--cert FILE]",
	  "crypto-shred the legs, forget the volume, wipe and certify (operator)",
	  tc_volume_delete },
	{ "leg", "fail", "TENANT VOLUME LEG-INDEX",
	  "mark a leg failed (operator; needs replication in the kernel)",
	  v_leg },
	{ "leg", "recover", "TENANT VOLUME LEG-INDEX [--force]",
	  "bring a failed leg back; --force also a diverged one, discarding its writes (operator)",
	  v_leg },
	{ "audit", "export", "[-o FILE] [--after SEQ]",
	  "write the audit chain as JSON lines (operator)", v_audit_export },
	{ "audit", "verify", "[FILE [--head HASH]]",
	  "verify the live chain (via tenantd) or an exported file offline",
	  v_audit_verify },
	/* -- mfa -- */
	{ "mfa", "enroll", "[--algorithm sha1|sha256] [--digits 6|8]",
	  "enrol an authenticator (TOTP) for yourself: QR code / otpauth URI, then one code to confirm",
	  tc_mfa_enroll },
	{ "mfa", "confirm", "",
	  "confirm your pending enrolment with a code (asked for, or on standard input)",
	  tc_mfa_confirm },
	{ "mfa", "reset", "UID",
	  "remove the enrolments of UID and clear its lockout (operator, audited)",
	  tc_mfa_reset },
	{ "mfa", "list", "", "list enrolments (operator: all; others: their own)",
	  tc_mfa_list },
	/* -- access -- */
	{ "access", "request",
	  "--tenant TENANT --volume VOLUME --reason TEXT --duration D[s|m|h] [--mode ro|rw]",
	  "ask for just-in-time access to a volume (support)", tc_access_request },
	{ "access", "approve", "ID [--mode ro|rw] [--note TEXT]",
	  "approve a pending request, optionally only ro (tenant admin, not the requester)",
	  tc_access_decide },
	{ "access", "deny", "ID [--note TEXT]",
	  "deny a pending request (tenant admin, not the requester)",
	  tc_access_decide },
	{ "access", "open", "ID [--mode ro|rw]",
	  "map an approved grant for yourself, node owned by you (the requester)",
	  tc_access_open },
	{ "access", "close", "ID",
	  "end your grant early: mapping removed, key wiped (the requester)",
	  tc_access_end },
	{ "access", "revoke", "ID [--note TEXT]",
	  "end a grant now, even with I/O in flight (tenant admin, operator)",
	  tc_access_end },
	{ "access", "list", "[--tenant TENANT] [--all]",
	  "list open requests and grants (--all: also ended ones)",
	  tc_access_list },
	/* -- wipe -- */
	{ "wipe", "status", "[TENANT] [--job N] [--wait]",
	  "progress of wipes; certificates of finished ones (operator, tenant admin)",
	  tc_wipe_status },
	{ "wipe", "cert", "JOB [--text] [-o FILE]",
	  "the certificate of sanitization of a finished wipe", tc_wipe_cert },
	{ "cert", "verify", "FILE [--audit EXPORT]",
	  "check a certificate against the audit record that covers it (tenantd, or an export offline)",
	  tc_cert_verify },
	{ "tenant", "audit-export", "TENANT [-o FILE]",
	  "the tenant's audit records as JSON lines (tenant admin, operator)",
	  tc_tenant_audit_export },
	{ "volume", "export", "TENANT VOLUME [-o FILE]",
	  "stream the volume's plaintext to FILE or stdout (tenant admin)",
	  tc_volume_export },
	{ "tenant", "audit-verify", "FILE",
	  "check a tenant audit export offline, record by record",
	  tc_tenant_audit_verify },
	/* -- udev -- */
	{ "volume", "auto", "TENANT VOLUME on|off",
	  "attach automatically (for its VM) once all legs are present (operator)",
	  tc_volume_auto },
	{ "leg", "seen", "DEVICE",
	  "report a device carrying a leg (root; what the udev rule does)",
	  tc_leg_report },
	{ "leg", "gone", "DEVICE",
	  "report a leg's device as gone (root; what the udev rule does)",
	  tc_leg_report },
	/* -- remote -- */
	/* -- metrics -- ("tenantctl metrics" is the short form) */
	{ "metrics", "show", "",
	  "the metrics tenantd writes for node_exporter, Prometheus text (operator)",
	  tc_metrics_show },
	{ NULL, NULL, NULL, NULL, NULL }
};

static void help(FILE *f)
{
	const struct tc_verb *v;

	fprintf(f,
		"Usage: tenantctl [--socket PATH] [--json] [--timeout SEC] OBJECT VERB [ARGS]\n"
		"Client of tenantd, the dm-tenant control daemon (tenantctl(8)).\n\n");
	for (v = tc_verbs; v->object; v++)
		fprintf(f, "  %s %s %s\n      %s\n", v->object, v->verb,
			v->usage, v->summary);
	fprintf(f, "  raw < BYTES\n      send standard input verbatim, print the reply (protocol debugging)\n");
	fprintf(f, "  attach TENANT VOLUME [--vm VM] [--libvirt [--target DEV]]\n      volume attach, printing the device path or a libvirt <disk> (hypervisor)\n"
		"  detach TENANT VOLUME | detach --vm VM\n      volume detach, or every attached volume of a VM (libvirt hook)\n"
		"  metrics\n      short for metrics show\n");
	fprintf(f,
		"\nOptions:\n"
		"  --socket PATH  tenantd's socket (default " TD_DEFAULT_SOCKET ",\n"
		"                 or $TENANTD_SOCKET)\n"
		"  --json         print replies of read commands as JSON\n"
		"  --timeout SEC  give up waiting for tenantd (default 600)\n"
		"  --code CODE|-  (after the verb) the one-time code of a verb that needs\n"
		"                 a second factor; - reads it from standard input.  Without\n"
		"                 it tenantctl asks on the terminal or reads standard input\n"
		"                 when tenantd asks.  On the command line it shows in ps(1).\n"
		"\nExit codes: 0 ok, 1 error, 2 usage or invalid argument, 3 denied,\n"
		"4 not found, 5 conflict, 6 unsupported, 7 busy, 8 audit chain invalid.\n");
}

const struct tc_verb *tc_find_verb(const char *object, const char *verb)
{
	const struct tc_verb *v;

	for (v = tc_verbs; v->object; v++)
		if (!strcmp(v->object, object) && verb && !strcmp(v->verb, verb))
			return v;
	return NULL;
}

int tc_main(int argc, char **argv)
{
	const struct tc_verb *v;
	int i = 1;

	tc_opt_code = NULL;
	if (getenv("TENANTD_SOCKET"))
		opt_socket = getenv("TENANTD_SOCKET");
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--socket") && i + 1 < argc) {
			opt_socket = argv[++i];
		} else if (!strcmp(argv[i], "--json")) {
			opt_json = true;
		} else if (!strcmp(argv[i], "--timeout") && i + 1 < argc) {
			opt_timeout = (unsigned int)strtoul(argv[++i], NULL, 10);
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			help(stdout);
			return EXIT_OK;
		} else {
			return tc_usage_err(NULL, "unknown option '%s'", argv[i]);
		}
	}
	if (i >= argc) {
		help(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[i], "raw")) {
		if (i + 1 < argc) {
			printf("usage: tenantctl [--socket PATH] raw < REQUEST-BYTES\n"
			       "  send standard input verbatim to tenantd and print the reply (debugging)\n");
			return want_help(argc - i - 1, argv + i + 1) ?
				EXIT_OK : EXIT_USAGE;
		}
		return tc_raw(0) ? EXIT_ERR : EXIT_OK;
	}
	/* udev: "attach ..." and "detach ..." (tc-udev.c) */
	if (!strcmp(argv[i], "attach") || !strcmp(argv[i], "detach"))
		return tc_udev_alias(argc - i, argv + i);
	if (!strcmp(argv[i], "metrics"))
		return tc_metrics(argc - i, argv + i);
	v = tc_find_verb(argv[i], i + 1 < argc ? argv[i + 1] : NULL);
	if (!v) {
		const struct tc_verb *w;
		bool known = false;

		for (w = tc_verbs; w->object; w++)
			known |= !strcmp(w->object, argv[i]);
		if (known) {
			fprintf(stderr, "tenantctl: %s needs a verb:", argv[i]);
			for (w = tc_verbs; w->object; w++)
				if (!strcmp(w->object, argv[i]))
					fprintf(stderr, " %s", w->verb);
			fprintf(stderr, "\n");
			return EXIT_USAGE;
		}
		return tc_usage_err(NULL, "unknown object '%s' (tenant, volume, leg, audit, access)",
				 argv[i]);
	}
	argc -= i + 2;
	argv += i + 2;
	/* -- mfa -- --code CODE|- after any verb; the verb never sees it */
	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--code"))
			continue;
		if (i + 1 >= argc)
			return tc_usage_err(v, "--code needs a code, or - for standard input");
		tc_opt_code = argv[i + 1];
		memmove(argv + i, argv + i + 2, (argc - i - 2) * sizeof(*argv));
		argc -= 2;
		i--;
	}
	if (want_help(argc, argv)) {
		printf("usage: tenantctl %s %s %s\n  %s\n", v->object, v->verb,
		       v->usage, v->summary);
		return EXIT_OK;
	}
	return v->fn(v, argc, argv);
}
