// SPDX-License-Identifier: GPL-2.0
/*
 * tenantctl access ...: just-in-time access (Documentation/jit-access.md).
 *
 *   access request --tenant T --volume V --reason TEXT --duration D [--mode M]
 *   access approve ID [--mode ro|rw] [--note TEXT]
 *   access deny ID [--note TEXT]
 *   access open ID [--mode ro|rw]
 *   access close ID
 *   access revoke ID [--note TEXT]
 *   access list [--tenant T] [--all]
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../daemon/proto.h"
#include "tenantctl.h"

/* One request through tc_run(); @print gets the result. */
static int print_adapter(json_object *res, void *arg)
{
	int (*print)(json_object *res) = (int (*)(json_object *))arg;

	return print(res);
}

static int call(const char *verb, json_object *args,
		int (*print)(json_object *res))
{
	return tc_run(verb, args, print_adapter, (void *)print);
}

int tc_parse_duration(const char *s, uint64_t *out)
{
	unsigned long long v;
	uint64_t mul = 1;
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	if (*end == 's')
		end++;
	else if (*end == 'm')
		mul = 60, end++;
	else if (*end == 'h')
		mul = 3600, end++;
	else if (*end == 'd')
		mul = 86400, end++;
	if (*end || !v || v > UINT32_MAX / mul)
		return -EINVAL;
	*out = v * mul;
	return 0;
}

static int parse_id(const char *s, int64_t *id)
{
	char *end;
	long long v;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end || v < 0)
		return -EINVAL;
	*id = v;
	return 0;
}

static bool valid_mode(const char *m)
{
	return !strcmp(m, "ro") || !strcmp(m, "rw");
}

static void print_line(json_object *g)
{
	char tv[64];

	snprintf(tv, sizeof(tv), "%s/%s", tc_sget(g, "tenant"), tc_sget(g, "volume"));
	printf("%-5s %-10s %-30s %-5s %-2s/%-2s %-8s %-21s %s\n",
	       tc_sget(g, "id"), tc_sget(g, "state"), tv, tc_sget(g, "requester"),
	       tc_sget(g, "mode"),
	       tc_sget(g, "mode_requested"), tc_sget(g, "duration"),
	       strcmp(tc_sget(g, "state"), "pending") ? tc_sget(g, "expires") :
	       tc_sget(g, "pending_until"), tc_sget(g, "reason"));
}

static int print_grant(json_object *g)
{
	const char *state = tc_sget(g, "state");

	printf("access request %s: %s/%s %s\n", tc_sget(g, "id"), tc_sget(g, "tenant"),
	       tc_sget(g, "volume"), state);
	printf("  requester uid %s, mode %s (asked %s), %s s, reason: %s\n",
	       tc_sget(g, "requester"), tc_sget(g, "mode"), tc_sget(g, "mode_requested"),
	       tc_sget(g, "duration"), tc_sget(g, "reason"));
	if (!strcmp(state, "pending"))
		printf("  pending until %s; a tenant admin of %s approves with 'tenantctl access approve %s'\n",
		       tc_sget(g, "pending_until"), tc_sget(g, "tenant"), tc_sget(g, "id"));
	if (strcmp(tc_sget(g, "approver"), "-"))
		printf("  decided by uid %s at %s%s%s\n", tc_sget(g, "approver"),
		       tc_sget(g, "decided"), strcmp(tc_sget(g, "note"), "-") ?
		       ", note: " : "", strcmp(tc_sget(g, "note"), "-") ?
		       tc_sget(g, "note") : "");
	if (!strcmp(state, "approved"))
		printf("  window ends %s; the requester opens it with 'tenantctl access open %s'\n",
		       tc_sget(g, "expires"), tc_sget(g, "id"));
	if (!strcmp(state, "active"))
		printf("  device %s (%s) until %s (%s s left)\n",
		       tc_sget(g, "device"), tc_sget(g, "mode"), tc_sget(g, "expires"),
		       tc_sget(g, "remaining"));
	if (strcmp(tc_sget(g, "closed"), "-"))
		printf("  ended %s: %s\n", tc_sget(g, "closed"),
		       tc_sget(g, "close_reason"));
	return 0;
}

int tc_access_request(const struct tc_verb *v, int argc, char **argv)
{
	const char *tenant = NULL, *volume = NULL, *reason = NULL;
	const char *mode = NULL, *dur = NULL;
	uint64_t secs;
	json_object *a;
	int i;

	for (i = 0; i < argc; i++) {
		const char **dst = !strcmp(argv[i], "--tenant") ? &tenant :
			!strcmp(argv[i], "--volume") ? &volume :
			!strcmp(argv[i], "--reason") ? &reason :
			!strcmp(argv[i], "--duration") ? &dur :
			!strcmp(argv[i], "--mode") ? &mode : NULL;

		if (!dst || i + 1 >= argc)
			return tc_usage_err(v, "unexpected '%s'", argv[i]);
		*dst = argv[++i];
	}
	if (!tenant || !volume || !reason || !dur)
		return tc_usage_err(v, "--tenant, --volume, --reason and --duration are required");
	if (tc_parse_duration(dur, &secs))
		return tc_usage_err(v, "bad duration '%s' (e.g. 90, 90s, 15m, 2h)", dur);
	if (mode && !valid_mode(mode))
		return tc_usage_err(v, "--mode is ro or rw");
	a = json_object_new_object();
	json_object_object_add(a, "tenant", json_object_new_string(tenant));
	json_object_object_add(a, "volume", json_object_new_string(volume));
	json_object_object_add(a, "reason", json_object_new_string(reason));
	json_object_object_add(a, "duration",
			       json_object_new_int64((int64_t)secs));
	if (mode)
		json_object_object_add(a, "mode", json_object_new_string(mode));
	return call("access.request", a, print_grant);
}

/* ID [--mode M] [--note TEXT]: approve, deny, open, close, revoke. */
static int id_verb(const struct tc_verb *v, int argc, char **argv,
		   const char *verb, bool has_mode, bool has_note)
{
	const char *ids = NULL, *mode = NULL, *note = NULL;
	json_object *a;
	int64_t id;
	int i;

	for (i = 0; i < argc; i++) {
		if (has_mode && !strcmp(argv[i], "--mode") && i + 1 < argc)
			mode = argv[++i];
		else if (has_note && !strcmp(argv[i], "--note") && i + 1 < argc)
			note = argv[++i];
		else if (!ids && argv[i][0] != '-')
			ids = argv[i];
		else
			return tc_usage_err(v, "unexpected '%s'", argv[i]);
	}
	if (!ids || parse_id(ids, &id))
		return tc_usage_err(v, "expected the request ID (a number, see 'tenantctl access list')");
	if (mode && !valid_mode(mode))
		return tc_usage_err(v, "--mode is ro or rw");
	a = json_object_new_object();
	json_object_object_add(a, "id", json_object_new_int64(id));
	if (mode)
		json_object_object_add(a, "mode", json_object_new_string(mode));
	if (note)
		json_object_object_add(a, "note", json_object_new_string(note));
	return call(verb, a, print_grant);
}

int tc_access_decide(const struct tc_verb *v, int argc, char **argv)
{
	bool approve = !strcmp(v->verb, "approve");

	return id_verb(v, argc, argv, approve ? "access.approve" :
		       "access.deny", approve, true);
}

int tc_access_open(const struct tc_verb *v, int argc, char **argv)
{
	return id_verb(v, argc, argv, "access.open", true, false);
}

int tc_access_end(const struct tc_verb *v, int argc, char **argv)
{
	bool revoke = !strcmp(v->verb, "revoke");

	return id_verb(v, argc, argv, revoke ? "access.revoke" :
		       "access.close", false, revoke);
}

static int print_list(json_object *res)
{
	json_object *arr;
	size_t i, n;

	json_object_object_get_ex(res, "grants", &arr);
	n = json_object_array_length(arr);
	printf("%-5s %-10s %-30s %-5s %-5s %-8s %-21s %s\n", "ID", "STATE",
	       "VOLUME", "UID", "MODE", "SECONDS", "UNTIL", "REASON");
	for (i = 0; i < n; i++)
		print_line(json_object_array_get_idx(arr, i));
	return 0;
}

int tc_access_list(const struct tc_verb *v, int argc, char **argv)
{
	const char *tenant = NULL;
	bool all = false;
	json_object *a;
	int i;

	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--tenant") && i + 1 < argc)
			tenant = argv[++i];
		else if (!strcmp(argv[i], "--all"))
			all = true;
		else
			return tc_usage_err(v, "unexpected '%s'", argv[i]);
	}
	a = json_object_new_object();
	if (tenant)
		json_object_object_add(a, "tenant",
				       json_object_new_string(tenant));
	if (all)
		json_object_object_add(a, "all", json_object_new_boolean(1));
	return call("access.list", a, print_list);
}
