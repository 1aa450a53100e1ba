// SPDX-License-Identifier: GPL-2.0
/*
 * dmt-wipetest: VM test helper for tests/vm/60-wipe.sh.  Plays the attacker
 * with host root before a wipe, and searches the media afterwards.
 *
 *   dmt-wipetest dek MASTER_KEY DB TENANT VOLUME OUTDIR
 *       unwrap the tenant's KEK from the database with the master key, open
 *       the DEK from the first leg's keyslot, write OUTDIR/dek, OUTDIR/kek
 *       and OUTDIR/wrapped-kek (mode 0600).  Prints no key bytes.
 *   dmt-wipetest find FILE NEEDLE...
 *       count each needle in FILE (a device or a file): @PATH = the bytes
 *       of that file, "luks" = the two LUKS2 magics, else the literal text.
 *       Prints "<needle>: <count>" (never the bytes); exit 1 if any found.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sqlite3.h>

#include <dmtenant.h>

static int die(const char *what)
{
	fprintf(stderr, "dmt-wipetest: %s\n", what);
	return 2;
}

static int write_secret(const char *dir, const char *name, const void *p,
			size_t n)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, p, n) != (ssize_t)n) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return close(fd);
}

static int cmd_dek(char **argv)
{
	struct dmt_key *master = NULL, *kek = NULL, *dek = NULL;
	struct dmt_ctx *ctx = NULL;
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	unsigned char blob[128], buf[64];
	char uuid[64] = "", leg[300] = "", path[600], fpr[32];
	int blen = 0, r, rc = 2;

	if (dmt_master_key_load(argv[0], &master))
		return die("cannot load the master key");
	if (sqlite3_open_v2(argv[1], &db, SQLITE_OPEN_READONLY, NULL))
		goto out;
	if (sqlite3_prepare_v2(db, "SELECT kek_wrapped FROM tenants WHERE id = ?",
			       -1, &s, NULL))
		goto out;
	sqlite3_bind_text(s, 1, argv[2], -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW) {
		blen = sqlite3_column_bytes(s, 0);
		if (blen > 0 && blen <= (int)sizeof(blob))
			memcpy(blob, sqlite3_column_blob(s, 0), (size_t)blen);
	}
	sqlite3_finalize(s);
	if (sqlite3_prepare_v2(db, "SELECT v.uuid, l.device FROM volumes v JOIN"
			       " legs l ON l.tenant = v.tenant AND"
			       " l.volume = v.id WHERE v.tenant = ? AND"
			       " v.id = ? ORDER BY l.idx LIMIT 1", -1, &s, NULL))
		goto out;
	sqlite3_bind_text(s, 1, argv[2], -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, argv[3], -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW) {
		snprintf(uuid, sizeof(uuid), "%s", sqlite3_column_text(s, 0));
		snprintf(leg, sizeof(leg), "%s", sqlite3_column_text(s, 1));
	}
	sqlite3_finalize(s);
	if (blen <= 0 || !uuid[0]) {
		rc = die("tenant or volume not in the database");
		goto out;
	}
	if (dmt_kek_unwrap(master, argv[2], blob, (size_t)blen, &kek)) {
		rc = die("the KEK does not unwrap");
		goto out;
	}
	if (dmt_ctx_new(&ctx, DMT_CTX_NO_MODULE_LOAD))
		goto out;
	r = dmt_leg_open_dek(ctx, leg, uuid, kek, &dek);
	if (r) {
		fprintf(stderr, "dmt-wipetest: %s: no DEK: %s\n", leg, strerror(-r));
		goto out;
	}
	if (write_secret(argv[4], "wrapped-kek", blob, (size_t)blen))
		goto out;
	snprintf(path, sizeof(path), "%s/dek", argv[4]);
	if (dmt_key_export_file(dek, path))
		goto out;
	snprintf(path, sizeof(path), "%s/kek", argv[4]);
	if (dmt_key_export_file(kek, path))
		goto out;
	dmt_key_fingerprint(dek, fpr, sizeof(fpr));
	printf("DEK of %s/%s recovered from %s with the master key and the database (fingerprint %s)\n",
	       argv[2], argv[3], leg, fpr);
	rc = 0;
out:
	explicit_bzero(buf, sizeof(buf));
	explicit_bzero(blob, sizeof(blob));
	dmt_key_free(dek);
	dmt_key_free(kek);
	dmt_key_free(master);
	dmt_ctx_free(ctx);
	sqlite3_close(db);
	return rc;
}

struct needle {
	const char *name;
	unsigned char *p;
	size_t n;
	long count;
};

static int load_needle(const char *arg, struct needle *nd)
{
	nd->name = arg;
	if (arg[0] == '@') {
		struct stat st;
		int fd = open(arg + 1, O_RDONLY | O_CLOEXEC);

		if (fd < 0 || fstat(fd, &st) || st.st_size <= 0 ||
		    st.st_size > 4096) {
			if (fd >= 0)
				close(fd);
			return -1;
		}
		nd->n = (size_t)st.st_size;
		nd->p = malloc(nd->n);
		if (!nd->p || read(fd, nd->p, nd->n) != (ssize_t)nd->n) {
			close(fd);
			return -1;
		}
		close(fd);
		return 0;
	}
	nd->n = strlen(arg);
	nd->p = (unsigned char *)strdup(arg);
	return nd->p ? 0 : -1;
}

static int cmd_find(const char *file, int n, char **args)
{
	static const unsigned char m1[6] = { 'L', 'U', 'K', 'S', 0xba, 0xbe };
	static const unsigned char m2[6] = { 'S', 'K', 'U', 'L', 0xba, 0xbe };
	struct needle nd[16];
	const size_t chunk = 1 << 20, keep = 4096;
	unsigned char *buf;
	size_t have = 0;
	int fd, i, k, found = 0;
	ssize_t got;

	if (n < 1 || n > 14)
		return die("find FILE NEEDLE...");
	memset(nd, 0, sizeof(nd));
	for (i = 0, k = 0; i < n; i++) {
		if (!strcmp(args[i], "luks")) {
			nd[k].name = "luks-magic-1";
			nd[k].p = (unsigned char *)m1;
			nd[k++].n = 6;
			nd[k].name = "luks-magic-2";
			nd[k].p = (unsigned char *)m2;
			nd[k++].n = 6;
		} else if (load_needle(args[i], &nd[k++])) {
			return die("bad needle");
		}
	}
	n = k;
	fd = open(file, O_RDONLY | O_CLOEXEC);
	buf = malloc(chunk + keep);
	if (fd < 0 || !buf)
		return die("cannot open the file");
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	while ((got = read(fd, buf + have, chunk)) > 0) {
		size_t len = have + (size_t)got, off;

		for (i = 0; i < n; i++) {
			/* a match must end in the new bytes (no double count) */
			off = have >= nd[i].n ? have - nd[i].n + 1 : 0;
			for (; off + nd[i].n <= len; off++) {
				if (buf[off] == nd[i].p[0] &&
				    !memcmp(buf + off, nd[i].p, nd[i].n))
					nd[i].count++;
			}
		}
		have = len < keep ? len : keep;
		memmove(buf, buf + len - have, have);
	}
	close(fd);
	free(buf);
	for (i = 0; i < n; i++) {
		printf("%s: %ld\n", nd[i].name, nd[i].count);
		found |= nd[i].count > 0;
	}
	return found;
}

int main(int argc, char **argv)
{
	if (argc == 7 && !strcmp(argv[1], "dek"))
		return cmd_dek(argv + 2);
	if (argc >= 4 && !strcmp(argv[1], "find"))
		return cmd_find(argv[2], argc - 3, argv + 3);
	fprintf(stderr, "usage: dmt-wipetest dek MASTER_KEY DB TENANT VOLUME OUTDIR\n"
			"       dmt-wipetest find FILE NEEDLE...\n");
	return 2;
}
