// SPDX-License-Identifier: GPL-2.0
/*
 * tenantctl verbs of udev provisioning and hypervisor attach
 * (Documentation/udev-hypervisor.md):
 *
 *   volume auto TENANT VOLUME on|off       automatic attach (operator)
 *   leg seen|gone DEVICE                   what udev reports (root)
 *   attach TENANT VOLUME [--vm VM] [--libvirt [--target DEV]]
 *                                          hypervisor attach: prints the
 *                                          device path or a libvirt <disk>
 *   detach TENANT VOLUME | detach --vm VM  one volume, or all of a VM's
 *                                          (the libvirt hook)
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../daemon/proto.h"
#include "tenantctl.h"

#define EXIT_OK		0
#define EXIT_ERR	1
#define EXIT_USAGE	2

static int usage(const char *u, const char *fmt, const char *what)
{
	fprintf(stderr, "tenantctl: ");
	fprintf(stderr, fmt, what);
	fprintf(stderr, "\nusage: tenantctl %s\n", u);
	return EXIT_USAGE;
}

/* --- volume auto ---------------------------------------------------------- */

static int print_auto(json_object *res, void *arg)
{
	json_object *v;
	bool on = json_object_object_get_ex(res, "auto", &v) &&
		json_object_get_boolean(v);

	(void)arg;
	printf("auto-attach %s (%s/%s legs present): %s\n", on ? "on" : "off",
	       tc_sget(res, "legs_present"), tc_sget(res, "nr_legs"),
	       tc_sget(res, "action"));
	return EXIT_OK;
}

int tc_volume_auto(const struct tc_verb *v, int argc, char **argv)
{
	json_object *a;
	bool on;

	if (argc != 3)
		return usage("volume auto TENANT VOLUME on|off",
			     "expected TENANT VOLUME on|off%s", "");
	if (!strcmp(argv[2], "on"))
		on = true;
	else if (!strcmp(argv[2], "off"))
		on = false;
	else
		return usage("volume auto TENANT VOLUME on|off",
			     "'%s' is neither on nor off", argv[2]);
	(void)v;
	a = tc_args_tv(argv[0], argv[1]);
	json_object_object_add(a, "auto", json_object_new_boolean(on));
	return tc_run("volume.auto", a, print_auto, NULL);
}

/* --- leg seen / gone -------------------------------------------------------- */

static int print_report(json_object *res, void *arg)
{
	(void)arg;
	printf("%s/%s leg %s (%s): %s, %s/%s legs present\n",
	       tc_sget(res, "tenant"), tc_sget(res, "volume"), tc_sget(res, "leg"),
	       tc_sget(res, "device"), tc_sget(res, "action"),
	       tc_sget(res, "legs_present"), tc_sget(res, "nr_legs"));
	return EXIT_OK;
}

int tc_leg_report(const struct tc_verb *v, int argc, char **argv)
{
	json_object *a, *d;
	char verb[16];

	if (argc != 1 || argv[0][0] != '/')
		return usage(strcmp(v->verb, "seen") ? "leg gone DEVICE" :
			     "leg seen DEVICE",
			     "expected one absolute DEVICE path%s", "");
	a = json_object_new_object();
	d = json_object_new_array();
	json_object_array_add(d, json_object_new_string(argv[0]));
	json_object_object_add(a, "devices", d);
	snprintf(verb, sizeof(verb), "leg.%s", v->verb);
	return tc_run(verb, a, print_report, NULL);
}

/* --- attach / detach (hypervisor) ------------------------------------------- */

struct attach_opts {
	bool libvirt;
	const char *target;
	const char *tenant, *volume;
};

/* XML-escape @s into @f (ids and paths are tame, but be safe). */
static void xml_put(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '\'': fputs("&apos;", f); break;
		case '"': fputs("&quot;", f); break;
		default: fputc(*s, f);
		}
	}
}

/*
 * The libvirt <disk> element for an attached volume.  The source is the
 * stable /dev/disk/by-tenant link when udev made it, else the node
 * tenantd returned.  Serial: "<tenant>/<volume>" cut to virtio-blk's 20
 * bytes, so the guest can tell its disks apart.
 */
void tc_libvirt_disk(FILE *f, const char *tenant, const char *volume,
		     const char *device, const char *target)
{
	char link[96], serial[21];

	snprintf(link, sizeof(link), "/dev/disk/by-tenant/%s/%s", tenant,
		 volume);
	if (access(link, F_OK))
		snprintf(link, sizeof(link), "%s", device);
	snprintf(serial, sizeof(serial), "%s/%s", tenant, volume);
	fputs("<disk type='block' device='disk'>\n"
	      "  <driver name='qemu' type='raw' cache='none' io='native'/>\n"
	      "  <source dev='", f);
	xml_put(f, link);
	fputs("'/>\n  <target dev='", f);
	xml_put(f, target);
	fputs("' bus='virtio'/>\n  <serial>", f);
	xml_put(f, serial);
	fputs("</serial>\n</disk>\n", f);
}

static int print_attach(json_object *res, void *arg)
{
	const struct attach_opts *o = arg;

	if (o->libvirt)
		tc_libvirt_disk(stdout, o->tenant, o->volume,
				tc_sget(res, "device"), o->target);
	else
		printf("%s\n", tc_sget(res, "device"));
	return EXIT_OK;
}

#define ATTACH_USAGE "attach TENANT VOLUME [--vm VM] [--libvirt [--target DEV]]"
#define DETACH_USAGE "detach TENANT VOLUME | detach --vm VM"

static int attach(int argc, char **argv)
{
	struct attach_opts o = { .target = "vdb" };
	const char *pos[2], *vm = NULL;
	json_object *a;
	int i, npos = 0;

	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--vm") && i + 1 < argc)
			vm = argv[++i];
		else if (!strcmp(argv[i], "--libvirt"))
			o.libvirt = true;
		else if (!strcmp(argv[i], "--target") && i + 1 < argc)
			o.target = argv[++i];
		else if (argv[i][0] != '-' && npos < 2)
			pos[npos++] = argv[i];
		else
			return usage(ATTACH_USAGE, "unexpected '%s'", argv[i]);
	}
	if (npos != 2)
		return usage(ATTACH_USAGE, "expected TENANT VOLUME%s", "");
	if (vm && !td_valid_vm(vm))
		return usage(ATTACH_USAGE, "invalid VM name '%s'", vm);
	o.tenant = pos[0];
	o.volume = pos[1];
	a = tc_args_tv(pos[0], pos[1]);
	if (vm)
		json_object_object_add(a, "vm", json_object_new_string(vm));
	return tc_run("volume.attach", a, print_attach, &o);
}

static int print_detached(json_object *res, void *arg)
{
	(void)arg;
	printf("detached %s\n", tc_sget(res, "dm_name"));
	return EXIT_OK;
}

/* Detach every attached volume of @vm (the libvirt hook on VM stop). */
static int detach_vm(const char *vm)
{
	json_object *reply = NULL, *res, *arr, *ok;
	size_t i, n;
	int r, ex = EXIT_OK, done = 0;

	r = tc_call("volume.list", json_object_new_object(), &reply);
	if (r) {
		fprintf(stderr, "tenantctl: cannot talk to tenantd at %s: %s\n",
			opt_socket, strerror(-r));
		return EXIT_ERR;
	}
	if (!json_object_object_get_ex(reply, "ok", &ok) ||
	    !json_object_get_boolean(ok)) {
		json_object_put(reply);
		/* Let the daemon's own error reach the user. */
		return tc_run("volume.list", json_object_new_object(), NULL,
			      NULL);
	}
	if (!json_object_object_get_ex(reply, "result", &res) ||
	    !json_object_object_get_ex(res, "volumes", &arr) ||
	    !json_object_is_type(arr, json_type_array)) {
		json_object_put(reply);
		fprintf(stderr, "tenantctl: malformed reply from tenantd (no volume list): are tenantctl and tenantd the same version?\n");
		return EXIT_ERR;
	}
	n = json_object_array_length(arr);
	for (i = 0; i < n; i++) {
		json_object *v = json_object_array_get_idx(arr, i), *f;
		int x;

		if (strcmp(tc_sget(v, "vm"), vm) ||
		    !json_object_object_get_ex(v, "attached", &f) ||
		    !json_object_get_boolean(f))
			continue;
		x = tc_run("volume.detach",
			   tc_args_tv(tc_sget(v, "tenant"), tc_sget(v, "volume")),
			   print_detached, NULL);
		if (x && !ex)
			ex = x;
		done++;
	}
	json_object_put(reply);
	if (!done)
		printf("no attached volume of VM %s\n", vm);
	return ex;
}

static int detach(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[0], "--vm")) {
		if (!td_valid_vm(argv[1]))
			return usage(DETACH_USAGE, "invalid VM name '%s'",
				     argv[1]);
		return detach_vm(argv[1]);
	}
	if (argc != 2 || argv[0][0] == '-' || argv[1][0] == '-')
		return usage(DETACH_USAGE, "expected TENANT VOLUME or --vm VM%s",
			     "");
	return tc_run("volume.detach", tc_args_tv(argv[0], argv[1]),
		      print_detached, NULL);
}

int tc_udev_alias(int argc, char **argv)
{
	bool is_attach = !strcmp(argv[0], "attach");
	int i;

	for (i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			printf("usage: tenantctl %s\n  %s\n",
			       is_attach ? ATTACH_USAGE : DETACH_USAGE,
			       is_attach ?
			       "attach a volume for a VM and print its device path (or, with --libvirt, a libvirt <disk> element; --target names the guest disk, default vdb)" :
			       "detach a volume, or every attached volume of a VM (the libvirt hook does this when a VM stops)");
			return EXIT_OK;
		}
	return is_attach ? attach(argc - 1, argv + 1) :
		detach(argc - 1, argv + 1);
}
