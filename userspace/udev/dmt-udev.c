// SPDX-License-Identifier: GPL-2.0
/*
 * dmt-udev: the helper of 69-dm-tenant.rules (Documentation/udev-hypervisor.md).
 * Short-lived, no key material, never blocks udev for long.
 *
 *   dmt-udev probe DEVNODE
 *       If DEVNODE carries a dm-tenant leg (LUKS2 header with subsystem
 *       "dm-tenant" and our token, read with libcryptsetup: udev's builtin
 *       blkid does not export the subsystem), print udev properties:
 *       DMT_LEG=1, DMT_LEG_TENANT, DMT_LEG_VOLUME, DMT_LEG_UUID,
 *       DMT_LEG_INDEX, DMT_LEG_CLASS.  Prints nothing otherwise.  Exit 0.
 *   dmt-udev dm DM_NAME
 *       For a tenant device "tenant+<tenant>+<volume>": DMT_TENANT,
 *       DMT_VOLUME, and the owner tenantd published for it
 *       (/run/dm-tenant/owner/DM_NAME: DMT_OWNER, DMT_GROUP, DMT_VM).
 *   dmt-udev report seen|gone DEVNODE
 *       Tell tenantd (leg.seen / leg.gone); wait at most DMT_UDEV_WAIT
 *       seconds (default 2) for its answer, then return: tenantd finishes
 *       the work (assembly, resync) on its own.  Exit 0 unless the
 *       arguments are wrong.
 *
 * Environment: TENANTD_SOCKET (default /run/tenantd/tenantd.sock).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <dmtenant.h>

#include "../cli/tenantctl.h"
#include "../daemon/proto.h"

#define OWNER_DIR	"/run/dm-tenant/owner"

/* transport.c's options (tenantctl.h) */
const char *opt_socket = TD_DEFAULT_SOCKET;
unsigned int opt_timeout = 2;

static void quiet_log(int prio, const char *msg, void *data)
{
	(void)prio;
	(void)msg;
	(void)data;
}

static int probe(const char *dev)
{
	struct dmt_leg_info info;
	struct dmt_ctx *ctx;
	const char *cls;
	int r;

	if (dmt_ctx_new(&ctx, DMT_CTX_NO_MODULE_LOAD))
		return 0;
	dmt_ctx_set_log_fn(ctx, quiet_log, NULL);
	r = dmt_leg_read_info(ctx, dev, &info);
	dmt_ctx_free(ctx);
	if (r || dmt_id_valid(info.tenant) || dmt_id_valid(info.volume) ||
	    dmt_uuid_valid(info.uuid))
		return 0;
	cls = dmt_leg_class_name(info.cls);
	printf("DMT_LEG=1\nDMT_LEG_TENANT=%s\nDMT_LEG_VOLUME=%s\n"
	       "DMT_LEG_UUID=%s\nDMT_LEG_INDEX=%u\nDMT_LEG_CLASS=%s\n",
	       info.tenant, info.volume, info.uuid, info.index,
	       cls ? cls : "unknown");
	return 0;
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

static int dm(const char *name)
{
	char buf[DMT_DM_NAME_MAX], path[sizeof(OWNER_DIR) + DMT_DM_NAME_MAX];
	char line[128], *tenant, *volume;
	FILE *f;

	if (strlen(name) >= sizeof(buf) || strncmp(name, "tenant+", 7))
		return 0;
	strcpy(buf, name);
	tenant = buf + 7;
	volume = strchr(tenant, '+');
	if (!volume)
		return 0;
	*volume++ = '\0';
	if (dmt_id_valid(tenant) || dmt_id_valid(volume))
		return 0;
	printf("DMT_TENANT=%s\nDMT_VOLUME=%s\n", tenant, volume);
	snprintf(path, sizeof(path), "%s/%s", OWNER_DIR, name);
	f = fopen(path, "re");
	if (!f)
		return 0;
	/* Pass on only well-formed lines: the values end up in OWNER=. */
	while (fgets(line, sizeof(line), f)) {
		char *v = strchr(line, '=');

		line[strcspn(line, "\n")] = '\0';
		if (!v)
			continue;
		*v++ = '\0';
		if ((!strcmp(line, "DMT_OWNER") || !strcmp(line, "DMT_GROUP")) &&
		    all_digits(v))
			printf("%s=%s\n", line, v);
		else if (!strcmp(line, "DMT_VM") && td_valid_vm(v))
			printf("DMT_VM=%s\n", v);
	}
	fclose(f);
	return 0;
}

static int report(const char *what, const char *dev)
{
	json_object *args = json_object_new_object(), *devs, *reply = NULL;
	json_object *ok, *o, *f;
	const char *verb = !strcmp(what, "seen") ? "leg.seen" : "leg.gone";
	const char *w = getenv("DMT_UDEV_WAIT");
	int r;

	if (w && all_digits(w))
		opt_timeout = (unsigned int)strtoul(w, NULL, 10);
	devs = json_object_new_array();
	json_object_array_add(devs, json_object_new_string(dev));
	json_object_object_add(args, "devices", devs);
	openlog("dmt-udev", LOG_PID, LOG_DAEMON);
	r = tc_call(verb, args, &reply);
	if (r) {
		/* -ETIMEDOUT: tenantd is busy (e.g. attaching); it goes on. */
		syslog(r == -ETIMEDOUT ? LOG_INFO : LOG_WARNING,
		       "%s %s: tenantd at %s: %s", verb, dev, opt_socket,
		       strerror(-r));
		fprintf(stderr, "dmt-udev: %s %s: %s\n", verb, dev,
			strerror(-r));
		return 0;
	}
	if (json_object_object_get_ex(reply, "ok", &ok) &&
	    json_object_get_boolean(ok)) {
		const char *action = "?";

		if (json_object_object_get_ex(reply, "result", &o) &&
		    json_object_object_get_ex(o, "action", &f))
			action = json_object_get_string(f);
		syslog(LOG_INFO, "%s %s: %s", verb, dev, action);
		fprintf(stderr, "dmt-udev: %s %s: %s\n", verb, dev, action);
	} else {
		const char *msg = "?";

		if (json_object_object_get_ex(reply, "error", &o) &&
		    json_object_object_get_ex(o, "message", &f))
			msg = json_object_get_string(f);
		syslog(LOG_NOTICE, "%s %s: %s", verb, dev, msg);
		fprintf(stderr, "dmt-udev: %s %s: %s\n", verb, dev, msg);
	}
	json_object_put(reply);
	return 0;
}

static int usage(void)
{
	fprintf(stderr,
		"usage: dmt-udev probe DEVNODE\n"
		"       dmt-udev dm DM_NAME\n"
		"       dmt-udev report seen|gone DEVNODE\n"
		"(called from 69-dm-tenant.rules; see Documentation/udev-hypervisor.md)\n");
	return 2;
}

int main(int argc, char **argv)
{
	if (getenv("TENANTD_SOCKET"))
		opt_socket = getenv("TENANTD_SOCKET");
	if (argc == 3 && !strcmp(argv[1], "probe") && argv[2][0] == '/')
		return probe(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "dm"))
		return dm(argv[2]);
	if (argc == 4 && !strcmp(argv[1], "report") && argv[3][0] == '/' &&
	    (!strcmp(argv[2], "seen") || !strcmp(argv[2], "gone")))
		return report(argv[2], argv[3]);
	return usage();
}
