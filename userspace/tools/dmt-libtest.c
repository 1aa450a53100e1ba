// SPDX-License-Identifier: GPL-2.0
/*
 * dmt-libtest: a thin command line over libdmtenant for the VM tests
 * (tests/vm/20-lib-attach.sh).  Not an administration tool: it keeps keys
 * in files given on the command line and has rescue commands that write
 * key bytes to files.
 *
 *   dmt-libtest master-create MASTER
 *   dmt-libtest kek-new      -m MASTER -t TENANT BLOB
 *   dmt-libtest fingerprint  -m MASTER -t TENANT -k BLOB
 *   dmt-libtest create       -m MASTER -t TENANT -k BLOB -v VOLUME [-s SECTORS] CLASS:DEV...
 *   dmt-libtest info         DEV
 *   dmt-libtest attach       -m MASTER -t TENANT -k BLOB -v VOLUME -u UUID [-n NAME] [-r] [-d] CLASS:DEV...
 *   dmt-libtest detach       [-f] NAME
 *   dmt-libtest status       NAME
 *   dmt-libtest table        NAME
 *   dmt-libtest list
 *   dmt-libtest version      (loads the modules, prints the target version)
 *   dmt-libtest rewrap       -m MASTER -t TENANT -k OLDBLOB -K NEWBLOB -v VOLUME -u UUID CLASS:DEV...
 *   dmt-libtest open-dek     -m MASTER -t TENANT -k BLOB -u UUID DEV
 *   dmt-libtest export-dek   -m MASTER -t TENANT -k BLOB -u UUID DEV OUT     (RESCUE)
 *   dmt-libtest export-pass  -m MASTER -t TENANT -k BLOB -u UUID OUT         (RESCUE)
 *   dmt-libtest erase        DEV...
 *
 * Errors print "dmt-libtest: <what>: <strerror> (E<NAME>)" and exit 1.
 * DMT_LIBTEST_DEBUG=1 turns on the library's debug log.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <keyutils.h>

#include "dmtenant.h"

static struct dmt_ctx *ctx;

static const char *errname(int e)
{
	switch (e) {
	case EPERM: return "EPERM";
	case ENOENT: return "ENOENT";
	case EINVAL: return "EINVAL";
	case EBUSY: return "EBUSY";
	case EEXIST: return "EEXIST";
	case ENODEV: return "ENODEV";
	case EMEDIUMTYPE: return "EMEDIUMTYPE";
	case EBADMSG: return "EBADMSG";
	case ENOKEY: return "ENOKEY";
	case ENOSPC: return "ENOSPC";
	case EACCES: return "EACCES";
	default: return "E?";
	}
}

static int die(const char *what, int r)
{
	fprintf(stderr, "dmt-libtest: %s: %s (%s)%s%s\n", what, strerror(-r),
		errname(-r), ctx && *dmt_ctx_last_error(ctx) ? ": " : "",
		ctx ? dmt_ctx_last_error(ctx) : "");
	exit(1);
}

struct opts {
	const char *master, *tenant, *kek, *newkek, *volume, *uuid, *name;
	uint64_t size;
	int ro, force, discards;
	struct dmt_leg legs[DMT_MAX_LEGS];
	unsigned int nr_legs;
	char **rest;
	int nrest;
};

static void parse(int argc, char **argv, struct opts *o, int want_legs)
{
	int c;

	memset(o, 0, sizeof(*o));
	optind = 1;
	while ((c = getopt(argc, argv, "m:t:k:K:v:u:n:s:rfd")) != -1) {
		switch (c) {
		case 'm': o->master = optarg; break;
		case 't': o->tenant = optarg; break;
		case 'k': o->kek = optarg; break;
		case 'K': o->newkek = optarg; break;
		case 'v': o->volume = optarg; break;
		case 'u': o->uuid = optarg; break;
		case 'n': o->name = optarg; break;
		case 's': o->size = strtoull(optarg, NULL, 10); break;
		case 'r': o->ro = 1; break;
		case 'f': o->force = 1; break;
		case 'd': o->discards = 1; break;
		default: exit(2);
		}
	}
	o->rest = argv + optind;
	o->nrest = argc - optind;
	if (!want_legs)
		return;
	for (; optind < argc; optind++) {
		char *colon = strchr(argv[optind], ':');
		enum dmt_leg_class cls;

		if (!colon || o->nr_legs == DMT_MAX_LEGS) {
			fprintf(stderr, "dmt-libtest: leg must be CLASS:DEV\n");
			exit(2);
		}
		*colon = '\0';
		if (dmt_leg_class_parse(argv[optind], &cls)) {
			fprintf(stderr, "dmt-libtest: bad class %s\n", argv[optind]);
			exit(2);
		}
		o->legs[o->nr_legs].cls = cls;
		o->legs[o->nr_legs].path = colon + 1;
		o->nr_legs++;
	}
}

static struct dmt_key *load_kek(const char *master_path, const char *tenant,
				const char *blob_path)
{
	struct dmt_key *master = NULL, *kek = NULL;
	uint8_t blob[DMT_WRAPPED_KEK_SIZE + 8];
	ssize_t n;
	int fd, r;

	if (!master_path || !tenant || !blob_path) {
		fprintf(stderr, "dmt-libtest: need -m MASTER -t TENANT -k BLOB\n");
		exit(2);
	}
	r = dmt_master_key_load(master_path, &master);
	if (r)
		die("load master key", r);
	fd = open(blob_path, O_RDONLY);
	if (fd < 0)
		die("open wrapped KEK", -errno);
	n = read(fd, blob, sizeof(blob));
	close(fd);
	if (n < 0)
		die("read wrapped KEK", -errno);
	r = dmt_kek_unwrap(master, tenant, blob, (size_t)n, &kek);
	dmt_key_free(master);
	if (r)
		die("unwrap KEK", r);
	return kek;
}

static void volume_of(struct opts *o, struct dmt_volume *v)
{
	memset(v, 0, sizeof(*v));
	v->tenant = o->tenant;
	v->volume = o->volume;
	v->uuid = o->uuid;
	v->legs = o->legs;
	v->nr_legs = o->nr_legs;
	v->size = o->size;
	v->generation = 1;
	if (o->discards)
		v->flags |= DMT_VOLUME_ALLOW_DISCARDS;
}

/* After attach: no key "dm-tenant:..." in any keyring we can search, and
 * no live one listed in /proc/keys (which shows every key root may view);
 * an invalidated key (flag i) may be listed until the key GC runs. */
static int keyring_clean(const char *tenant, const char *volume)
{
	static const key_serial_t rings[] = {
		KEY_SPEC_THREAD_KEYRING, KEY_SPEC_PROCESS_KEYRING,
		KEY_SPEC_SESSION_KEYRING, KEY_SPEC_USER_KEYRING,
		KEY_SPEC_USER_SESSION_KEYRING,
	};
	char desc[128], line[512], flags[16];
	unsigned int i;
	FILE *f;
	int dirty = 0;

	snprintf(desc, sizeof(desc), "dm-tenant:%s:%s", tenant, volume);
	for (i = 0; i < sizeof(rings) / sizeof(rings[0]); i++)
		if (keyctl_search(rings[i], "logon", desc, 0) >= 0) {
			fprintf(stderr, "dmt-libtest: %s found from keyring %d\n",
				desc, rings[i]);
			dirty = 1;
		}
	f = fopen("/proc/keys", "r");
	if (f) {
		while (fgets(line, sizeof(line), f)) {
			if (!strstr(line, desc))
				continue;
			if (sscanf(line, "%*s %15s", flags) == 1 &&
			    strpbrk(flags, "iRD"))
				continue;
			fprintf(stderr, "dmt-libtest: live key in /proc/keys: %s", line);
			dirty = 1;
		}
		fclose(f);
	}
	return !dirty;
}

static int cmd_attach(int argc, char **argv)
{
	struct opts o;
	struct dmt_volume v;
	struct dmt_key *kek;
	char path[DMT_DEV_PATH_MAX];
	int r;

	parse(argc, argv, &o, 1);
	kek = load_kek(o.master, o.tenant, o.kek);
	volume_of(&o, &v);
	r = dmt_volume_attach(ctx, &v, kek, o.name,
			      o.ro ? DMT_ATTACH_READ_ONLY : 0, path,
			      sizeof(path));
	dmt_key_free(kek);
	if (r)
		die("attach", r);
	if (!keyring_clean(o.tenant, o.volume)) {
		fprintf(stderr, "dmt-libtest: logon key still in a keyring after attach\n");
		return 1;
	}
	printf("%s\n", path);
	return 0;
}

static int print_dev(const struct dmt_dev_info *i, void *arg)
{
	(void)arg;
	printf("%s %s %u:%u open=%d%s%s\n", i->name, i->volume_uuid, i->major,
	       i->minor, i->open_count, i->suspended ? " suspended" : "",
	       i->read_only ? " ro" : "");
	return 0;
}

int main(int argc, char **argv)
{
	const char *cmd;
	struct opts o;
	int r;

	if (argc < 2) {
		fprintf(stderr, "usage: see the comment in userspace/tools/dmt-libtest.c\n");
		return 2;
	}
	cmd = argv[1];
	argc--;
	argv++;
	r = dmt_ctx_new(&ctx, 0);
	if (r)
		die("context", r);
	dmt_ctx_set_log_level(ctx, getenv("DMT_LIBTEST_DEBUG") ? LOG_DEBUG :
							       LOG_INFO);

	if (!strcmp(cmd, "master-create")) {
		struct dmt_key *m = NULL;

		if (argc != 2)
			return 2;
		r = dmt_master_key_create(argv[1], &m);
		dmt_key_free(m);
		if (r)
			die("create master key", r);
	} else if (!strcmp(cmd, "kek-new")) {
		struct dmt_key *m = NULL, *kek = NULL;
		uint8_t blob[DMT_WRAPPED_KEK_SIZE];
		size_t len;
		FILE *f;

		parse(argc, argv, &o, 0);
		if (!o.master || !o.tenant || o.nrest != 1)
			return 2;
		r = dmt_master_key_load(o.master, &m);
		if (!r)
			r = dmt_key_generate(DMT_KEY_KEK, &kek);
		if (!r)
			r = dmt_kek_wrap(m, o.tenant, kek, blob, sizeof(blob), &len);
		dmt_key_free(m);
		dmt_key_free(kek);
		if (r)
			die("new KEK", r);
		f = fopen(o.rest[0], "wx");
		if (!f || fwrite(blob, 1, len, f) != len || fclose(f))
			die("write wrapped KEK", -EIO);
	} else if (!strcmp(cmd, "fingerprint")) {
		struct dmt_key *kek;
		char fp[DMT_FINGERPRINT_LEN + 1];

		parse(argc, argv, &o, 0);
		kek = load_kek(o.master, o.tenant, o.kek);
		r = dmt_key_fingerprint(kek, fp, sizeof(fp));
		dmt_key_free(kek);
		if (r)
			die("fingerprint", r);
		printf("%s\n", fp);
	} else if (!strcmp(cmd, "create")) {
		struct dmt_volume v;
		struct dmt_key *kek;
		char uuid[DMT_UUID_LEN + 1];

		parse(argc, argv, &o, 1);
		kek = load_kek(o.master, o.tenant, o.kek);
		volume_of(&o, &v);
		r = dmt_volume_create(ctx, &v, kek, uuid, sizeof(uuid));
		dmt_key_free(kek);
		if (r)
			die("create volume", r);
		printf("%s\n", uuid);
	} else if (!strcmp(cmd, "info")) {
		struct dmt_leg_info i;

		if (argc != 2)
			return 2;
		r = dmt_leg_read_info(ctx, argv[1], &i);
		if (r)
			die("leg info", r);
		printf("tenant=%s\nvolume=%s\nuuid=%s\nluks_uuid=%s\nlabel=%s\n"
		       "class=%s\nleg=%u\ngeneration=%llu\nsize=%llu\n"
		       "data_offset=%llu\nsector_size=%u\nlayout=%u\nkeyslots=%u\n",
		       i.tenant, i.volume, i.uuid, i.luks_uuid, i.label,
		       dmt_leg_class_name(i.cls), i.index,
		       (unsigned long long)i.generation,
		       (unsigned long long)i.size,
		       (unsigned long long)i.data_offset, i.sector_size,
		       i.layout, i.nr_keyslots);
	} else if (!strcmp(cmd, "attach")) {
		return cmd_attach(argc, argv);
	} else if (!strcmp(cmd, "detach")) {
		parse(argc, argv, &o, 0);
		if (o.nrest != 1)
			return 2;
		r = dmt_volume_detach(ctx, o.rest[0],
				      o.force ? DMT_DETACH_FORCE : 0);
		if (r)
			die("detach", r);
	} else if (!strcmp(cmd, "status")) {
		struct dmt_status *st;
		unsigned int i;

		if (argc != 2)
			return 2;
		r = dmt_dev_status(ctx, argv[1], &st);
		if (r)
			die("status", r);
		printf("tenant=%s volume=%s key=%s legs=%u",
		       dmt_status_tenant(st), dmt_status_volume(st),
		       dmt_status_key_state(st) == DMT_KEY_STATE_LOADED ? "loaded" :
		       dmt_status_key_state(st) == DMT_KEY_STATE_WIPED ? "wiped" :
		       "unknown", dmt_status_nr_legs(st));
		for (i = 0; i < dmt_status_nr_legs(st); i++)
			printf(" %s:%s:%c",
			       dmt_leg_class_name(dmt_status_leg_class(st, i)),
			       dmt_status_leg_dev(st, i),
			       (char)dmt_status_leg_state(st, i));
		printf(" reads=%llu writes=%llu\n",
		       (unsigned long long)dmt_status_counter(st, DMT_COUNTER_READS),
		       (unsigned long long)dmt_status_counter(st, DMT_COUNTER_WRITES));
		dmt_status_free(st);
	} else if (!strcmp(cmd, "table")) {
		char buf[4096];

		if (argc != 2)
			return 2;
		r = dmt_dev_table(ctx, argv[1], buf, sizeof(buf));
		if (r)
			die("table", r);
		printf("%s\n", buf);
	} else if (!strcmp(cmd, "version")) {
		unsigned int ma, mi, pa;

		r = dmt_kernel_prepare(ctx);
		if (!r)
			r = dmt_kernel_target_version(ctx, &ma, &mi, &pa);
		if (r)
			die("target version", r);
		printf("%u.%u.%u\n", ma, mi, pa);
	} else if (!strcmp(cmd, "list")) {
		r = dmt_dev_list(ctx, print_dev, NULL);
		if (r)
			die("list", r);
	} else if (!strcmp(cmd, "rewrap")) {
		struct dmt_volume v;
		struct dmt_key *old, *new;

		parse(argc, argv, &o, 1);
		old = load_kek(o.master, o.tenant, o.kek);
		new = load_kek(o.master, o.tenant, o.newkek);
		volume_of(&o, &v);
		r = dmt_volume_rewrap(ctx, &v, old, new);
		dmt_key_free(old);
		dmt_key_free(new);
		if (r)
			die("rewrap", r);
	} else if (!strcmp(cmd, "open-dek") || !strcmp(cmd, "export-dek")) {
		struct dmt_key *kek, *dek = NULL;
		char fp[DMT_FINGERPRINT_LEN + 1];
		int export = !strcmp(cmd, "export-dek");

		parse(argc, argv, &o, 0);
		if (o.nrest != 1 + export)
			return 2;
		kek = load_kek(o.master, o.tenant, o.kek);
		r = dmt_leg_open_dek(ctx, o.rest[0], o.uuid, kek, &dek);
		dmt_key_free(kek);
		if (r)
			die("open DEK", r);
		if (export)
			r = dmt_key_export_file(dek, o.rest[1]);
		else
			r = dmt_key_fingerprint(dek, fp, sizeof(fp));
		dmt_key_free(dek);
		if (r)
			die(export ? "export DEK" : "fingerprint", r);
		if (!export)
			printf("%s\n", fp);
	} else if (!strcmp(cmd, "export-pass")) {
		struct dmt_key *kek, *pass = NULL;

		parse(argc, argv, &o, 0);
		if (o.nrest != 1)
			return 2;
		kek = load_kek(o.master, o.tenant, o.kek);
		r = dmt_key_derive_passphrase(kek, o.uuid, &pass);
		dmt_key_free(kek);
		if (!r)
			r = dmt_key_export_file(pass, o.rest[0]);
		dmt_key_free(pass);
		if (r)
			die("export passphrase", r);
	} else if (!strcmp(cmd, "erase")) {
		int i;

		for (i = 1; i < argc; i++) {
			r = dmt_leg_erase(ctx, argv[i], 0);
			if (r)
				die("erase", r);
		}
	} else {
		fprintf(stderr, "dmt-libtest: unknown command %s\n", cmd);
		return 2;
	}
	dmt_ctx_free(ctx);
	return 0;
}
