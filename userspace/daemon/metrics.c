// SPDX-License-Identifier: GPL-2.0
/*
 * tenantd metrics (metrics.h): a sample set rendered in Prometheus text
 * format, gathered from the store and the kernel's status lines, written
 * atomically for node_exporter's textfile collector.
 *
 * Names follow drbd-reactor's exporter (drbd_device_*, drbd_peerdevice_*)
 * and node_exporter's md collector (node_md_disks{state}, blocks synced),
 * with the prefix dmtenant_.  A failing write is logged once (and once
 * more when it works again), so a full disk or a bad path never floods
 * the log; tenantd goes on serving either way.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <dmtenant.h>

#include "metrics.h"
#include "proto.h"

/* --- families --------------------------------------------------------- */

struct mx_family {
	const char *name;
	const char *type;
	const char *help;
};

static const struct mx_family families[TD_MX__COUNT] = {
	[TD_MX_VOLUME_ATTACHED] = { "dmtenant_volume_attached", "gauge",
		"1 if the volume is attached on this host (mapped), else 0." },
	[TD_MX_KEY_LOADED] = { "dmtenant_device_key_loaded", "gauge",
		"1 if the target holds the volume key, 0 after key wipe." },
	[TD_MX_LEG_STATE] = { "dmtenant_leg_state", "gauge",
		"1 for the leg's current state (up_to_date, syncing, failed, diverged, unknown), 0 for the others." },
	[TD_MX_REGIONS] = { "dmtenant_device_regions", "gauge",
		"Regions of the volume's write-intent bitmap." },
	[TD_MX_OUTOFSYNC_REGIONS] = { "dmtenant_device_outofsync_regions",
		"gauge", "Regions not yet the same on every leg in service (the resync bitmap; a failed leg is shown by dmtenant_leg_state)." },
	[TD_MX_SYNC_ACTION] = { "dmtenant_device_sync_action", "gauge",
		"1 for the running sync action (idle, resync, recover, check, repair), 0 for the others." },
	[TD_MX_SYNC_DONE] = { "dmtenant_device_regions_synced", "gauge",
		"Regions done by the running or last sync action." },
	[TD_MX_SYNC_TOTAL] = { "dmtenant_device_regions_to_sync", "gauge",
		"Regions the running or last sync action covers." },
	[TD_MX_MISMATCHES] = { "dmtenant_device_mismatch_regions", "gauge",
		"Regions found different by the last check or repair." },
	[TD_MX_REMOTE_OUTOFSYNC_BYTES] = {
		"dmtenant_peerdevice_outofsync_bytes", "gauge",
		"Bytes not yet replicated to the remote leg (upper bound)." },
	[TD_MX_REMOTE_RPO_SECONDS] = { "dmtenant_peerdevice_rpo_seconds",
		"gauge", "Age of the oldest write not yet on the remote leg." },
	[TD_MX_REMOTE_CONSISTENT] = { "dmtenant_peerdevice_consistent",
		"gauge", "1 if the remote leg alone is crash-consistent." },
	[TD_MX_READS] = { "dmtenant_device_reads_total", "counter",
		"Read bios mapped since the table was loaded." },
	[TD_MX_WRITES] = { "dmtenant_device_writes_total", "counter",
		"Write bios mapped since the table was loaded." },
	[TD_MX_DISCARDS] = { "dmtenant_device_discards_total", "counter",
		"Discard bios mapped since the table was loaded." },
	[TD_MX_READ_ERRORS] = { "dmtenant_device_read_errors_total",
		"counter", "Bios a leg completed with a read error." },
	[TD_MX_WRITE_ERRORS] = { "dmtenant_device_write_errors_total",
		"counter", "Bios a leg completed with a write error." },
	[TD_MX_CRYPT_ERRORS] = { "dmtenant_device_crypt_errors_total",
		"counter", "Bios failed because the cipher returned an error." },
	[TD_MX_READ_BYTES] = { "dmtenant_device_read_bytes_total", "counter",
		"Bytes read from the volume's dm device (/sys/block/dm-N/stat)." },
	[TD_MX_WRITTEN_BYTES] = { "dmtenant_device_written_bytes_total",
		"counter", "Bytes written to the volume's dm device (/sys/block/dm-N/stat)." },
	[TD_MX_GRANTS_ACTIVE] = { "dmtenant_access_grants_active", "gauge",
		"Just-in-time access grants with an open mapping." },
	[TD_MX_REQUESTS_PENDING] = { "dmtenant_access_requests_pending",
		"gauge", "Access requests waiting for a tenant admin." },
	[TD_MX_WIPE_DONE] = { "dmtenant_wipe_done_bytes", "gauge",
		"Bytes written (over all passes and legs) by a running wipe job." },
	[TD_MX_WIPE_TOTAL] = { "dmtenant_wipe_size_bytes", "gauge",
		"Bytes a running wipe job writes in all." },
	[TD_MX_AUDIT_RECORDS] = { "dmtenant_audit_records_total", "counter",
		"Records in the audit chain." },
	[TD_MX_ATTACH_SECONDS] = { "dmtenant_attach_last_duration_seconds",
		"gauge", "How long the last attach of the volume took in tenantd." },
	[TD_MX_STATUS_ERRORS] = { "dmtenant_status_errors", "gauge",
		"1 if the kernel status of an attached volume could not be read in this round." },
};

const char *td_mx_name(enum td_mx_family f)
{
	return (unsigned int)f < TD_MX__COUNT ? families[f].name : NULL;
}

/* --- the sample set ----------------------------------------------------- */

struct mx_sample {
	enum td_mx_family f;
	char *labels;		/* rendered: k="v",... (host last) */
	double v;
};

struct td_mx {
	char *host;		/* escaped */
	struct mx_sample *s;
	size_t n, cap;
};

void td_mx_escape(const char *in, char *out, size_t outlen)
{
	size_t o = 0;

	if (!outlen)
		return;
	for (; in && *in; in++) {
		const char *rep = NULL;
		char one[2] = { *in, 0 };
		size_t k;

		if (*in == '\\')
			rep = "\\\\";
		else if (*in == '"')
			rep = "\\\"";
		else if (*in == '\n')
			rep = "\\n";
		else
			rep = one;
		k = strlen(rep);
		if (o + k >= outlen)
			break;	/* never half an escape */
		memcpy(out + o, rep, k);
		o += k;
	}
	out[o] = '\0';
}

struct td_mx *td_mx_new(const char *host)
{
	struct td_mx *mx = calloc(1, sizeof(*mx));
	char buf[512];

	if (!mx)
		return NULL;
	td_mx_escape(host ? host : "", buf, sizeof(buf));
	mx->host = strdup(buf);
	if (!mx->host) {
		free(mx);
		return NULL;
	}
	return mx;
}

void td_mx_free(struct td_mx *mx)
{
	size_t i;

	if (!mx)
		return;
	for (i = 0; i < mx->n; i++)
		free(mx->s[i].labels);
	free(mx->s);
	free(mx->host);
	free(mx);
}

static int mx_addv(struct td_mx *mx, enum td_mx_family f, double value,
		   va_list ap)
{
	char buf[1024], esc[512];
	const char *k, *v;
	size_t o = 0;
	int n;

	if (!mx || (unsigned int)f >= TD_MX__COUNT)
		return -EINVAL;
	buf[0] = '\0';
	while ((k = va_arg(ap, const char *))) {
		v = va_arg(ap, const char *);
		if (!v)
			return -EINVAL;
		td_mx_escape(v, esc, sizeof(esc));
		n = snprintf(buf + o, sizeof(buf) - o, "%s=\"%s\",", k, esc);
		if (n < 0 || (size_t)n >= sizeof(buf) - o)
			return -E2BIG;
		o += (size_t)n;
	}
	n = snprintf(buf + o, sizeof(buf) - o, "host=\"%s\"", mx->host);
	if (n < 0 || (size_t)n >= sizeof(buf) - o)
		return -E2BIG;
	if (mx->n == mx->cap) {
		size_t nc = mx->cap ? mx->cap * 2 : 64;
		struct mx_sample *ns = realloc(mx->s, nc * sizeof(*ns));

		if (!ns)
			return -ENOMEM;
		mx->s = ns;
		mx->cap = nc;
	}
	mx->s[mx->n].labels = strdup(buf);
	if (!mx->s[mx->n].labels)
		return -ENOMEM;
	mx->s[mx->n].f = f;
	mx->s[mx->n].v = value;
	mx->n++;
	return 0;
}

int td_mx_add(struct td_mx *mx, enum td_mx_family f, double value, ...)
{
	va_list ap;
	int r;

	va_start(ap, value);
	r = mx_addv(mx, f, value, ap);
	va_end(ap);
	return r;
}

static void fmt_value(double v, char *buf, size_t len)
{
	if (v == (double)(int64_t)v && v < 9e15 && v > -9e15)
		snprintf(buf, len, "%" PRId64, (int64_t)v);
	else
		snprintf(buf, len, "%.9g", v);
}

char *td_mx_render(const struct td_mx *mx, size_t *len)
{
	char *out = NULL;
	size_t olen = 0;
	FILE *f = open_memstream(&out, &olen);
	unsigned int fam;
	size_t i;

	if (!f)
		return NULL;
	for (fam = 0; fam < TD_MX__COUNT; fam++) {
		fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", families[fam].name,
			families[fam].help, families[fam].name,
			families[fam].type);
		for (i = 0; i < mx->n; i++) {
			char val[48];

			if (mx->s[i].f != fam)
				continue;
			fmt_value(mx->s[i].v, val, sizeof(val));
			fprintf(f, "%s{%s} %s\n", families[fam].name,
				mx->s[i].labels, val);
		}
	}
	if (fclose(f)) {
		free(out);
		return NULL;
	}
	if (len)
		*len = olen;
	return out;
}

/*
 * Sum samples of one family with equal labels (the grant counts): the
 * exposition format allows one sample per label set.
 */
void td_mx_merge(struct td_mx *mx)
{
	size_t i, j, k;

	for (i = 0; i < mx->n; i++)
		for (j = i + 1; j < mx->n;) {
			if (mx->s[j].f != mx->s[i].f ||
			    strcmp(mx->s[j].labels, mx->s[i].labels)) {
				j++;
				continue;
			}
			mx->s[i].v += mx->s[j].v;
			free(mx->s[j].labels);
			for (k = j; k + 1 < mx->n; k++)
				mx->s[k] = mx->s[k + 1];
			mx->n--;
		}
}

/* --- the kernel's appended status fields ------------------------------ */

static bool u64_of(const char *s, uint64_t *v)
{
	char *end;

	if (!s || *s < '0' || *s > '9')
		return false;
	errno = 0;
	*v = strtoull(s, &end, 10);
	return !errno && !*end;
}

static bool pair_of(const char *s, uint64_t *a, uint64_t *b)
{
	char tmp[48], *slash;

	if (!s || strlen(s) >= sizeof(tmp))
		return false;
	strcpy(tmp, s);
	slash = strchr(tmp, '/');
	if (!slash)
		return false;
	*slash = '\0';
	return u64_of(tmp, a) && u64_of(slash + 1, b);
}

void td_status_sync_parse(const struct dmt_status *st,
			  struct td_status_sync *s)
{
	unsigned int n = dmt_status_nr_extra(st), i, r, nr;
	uint64_t x;

	memset(s, 0, sizeof(*s));
	/* <in_sync>/<regions> <sync_action> <done>/<total> <mismatches>
	 * <#remote> [<leg> <mode> <unreplicated_bytes> <rpo_ms> <consistent>]... */
	if (n >= 1)
		s->have_regions = pair_of(dmt_status_extra(st, 0), &s->in_sync,
					  &s->regions);
	if (n >= 2 && strlen(dmt_status_extra(st, 1)) < sizeof(s->action))
		strcpy(s->action, dmt_status_extra(st, 1));
	if (n >= 3)
		s->have_progress = pair_of(dmt_status_extra(st, 2), &s->done,
					   &s->total);
	if (n >= 4)
		s->have_mismatches = u64_of(dmt_status_extra(st, 3),
					    &s->mismatches);
	if (n < 5 || !u64_of(dmt_status_extra(st, 4), &x))
		return;
	nr = x < 8 ? (unsigned int)x : 8;
	for (r = 0, i = 5; r < nr && i + 5 <= n; r++, i += 5) {
		uint64_t leg;
		const char *mode = dmt_status_extra(st, i + 1);

		if (!u64_of(dmt_status_extra(st, i), &leg) ||
		    strlen(mode) >= sizeof(s->remote[r].mode) ||
		    !u64_of(dmt_status_extra(st, i + 2),
			    &s->remote[r].unreplicated_bytes) ||
		    !u64_of(dmt_status_extra(st, i + 3), &s->remote[r].rpo_ms))
			break;
		s->remote[r].leg = (unsigned int)leg;
		strcpy(s->remote[r].mode, mode);
		s->remote[r].consistent =
			!strcmp(dmt_status_extra(st, i + 4), "yes");
		s->nremote = r + 1;
	}
}

void td_status_sync_json(const struct dmt_status *st, json_object *kernel)
{
	struct td_status_sync s;
	json_object *o;
	unsigned int i;

	td_status_sync_parse(st, &s);
	if (s.have_regions) {
		o = json_object_new_object();
		json_object_object_add(o, "regions",
				       json_object_new_int64((int64_t)s.regions));
		json_object_object_add(o, "in_sync",
				       json_object_new_int64((int64_t)s.in_sync));
		json_object_object_add(o, "action",
				       json_object_new_string(s.action));
		if (s.have_progress) {
			json_object_object_add(o, "done",
				json_object_new_int64((int64_t)s.done));
			json_object_object_add(o, "total",
				json_object_new_int64((int64_t)s.total));
		}
		if (s.have_mismatches)
			json_object_object_add(o, "mismatches",
				json_object_new_int64((int64_t)s.mismatches));
		json_object_object_add(kernel, "sync", o);
	}
	if (!s.nremote)
		return;
	o = json_object_new_array();
	for (i = 0; i < s.nremote; i++) {
		json_object *r = json_object_new_object();

		json_object_object_add(r, "leg",
				       json_object_new_int(s.remote[i].leg));
		json_object_object_add(r, "mode",
				       json_object_new_string(s.remote[i].mode));
		json_object_object_add(r, "unreplicated_bytes",
			json_object_new_int64((int64_t)s.remote[i].unreplicated_bytes));
		json_object_object_add(r, "rpo_ms",
			json_object_new_int64((int64_t)s.remote[i].rpo_ms));
		json_object_object_add(r, "consistent",
			json_object_new_boolean(s.remote[i].consistent));
		json_object_array_add(o, r);
	}
	json_object_object_add(kernel, "remote", o);
}

/* --- one volume's status ---------------------------------------------- */

static const struct {
	char letter;
	const char *name;
} leg_states[] = {
	{ DMT_LEG_STATE_ALIVE, "up_to_date" },
	{ DMT_LEG_STATE_SYNCING, "syncing" },
	{ DMT_LEG_STATE_DEAD, "failed" },
	{ DMT_LEG_STATE_DIVERGED, "diverged" },
	{ DMT_LEG_STATE_UNKNOWN, "unknown" },
};

static const char *const sync_actions[] = {
	"idle", "resync", "recover", "check", "repair",
};

#define ADD(...) do {						\
	int r_ = td_mx_add(__VA_ARGS__, NULL);			\
	if (r_)							\
		return r_;					\
} while (0)

int td_mx_add_status(struct td_mx *mx, const char *tenant, const char *volume,
		     const struct dmt_status *st)
{
	static const struct {
		enum td_mx_family f;
		enum dmt_counter c;
	} counters[] = {
		{ TD_MX_READS, DMT_COUNTER_READS },
		{ TD_MX_WRITES, DMT_COUNTER_WRITES },
		{ TD_MX_DISCARDS, DMT_COUNTER_DISCARDS },
		{ TD_MX_READ_ERRORS, DMT_COUNTER_READ_ERRORS },
		{ TD_MX_WRITE_ERRORS, DMT_COUNTER_WRITE_ERRORS },
		{ TD_MX_CRYPT_ERRORS, DMT_COUNTER_CRYPT_ERRORS },
	};
	struct td_status_sync s;
	unsigned int i, k;

	ADD(mx, TD_MX_KEY_LOADED,
	    dmt_status_key_state(st) == DMT_KEY_STATE_LOADED,
	    "tenant", tenant, "volume", volume);
	for (i = 0; i < dmt_status_nr_legs(st); i++) {
		const char *cls = dmt_leg_class_name(dmt_status_leg_class(st, i));
		char state = (char)dmt_status_leg_state(st, i), leg[12];
		bool known = false;

		snprintf(leg, sizeof(leg), "%u", i);
		for (k = 0; k < sizeof(leg_states) / sizeof(leg_states[0]); k++)
			known |= state == leg_states[k].letter;
		for (k = 0; k < sizeof(leg_states) / sizeof(leg_states[0]); k++)
			ADD(mx, TD_MX_LEG_STATE,
			    known ? state == leg_states[k].letter :
			    leg_states[k].letter == DMT_LEG_STATE_UNKNOWN,
			    "tenant", tenant, "volume", volume, "leg", leg,
			    "class", cls ? cls : "unknown",
			    "state", leg_states[k].name);
	}
	for (k = 0; k < sizeof(counters) / sizeof(counters[0]); k++)
		ADD(mx, counters[k].f,
		    (double)dmt_status_counter(st, counters[k].c),
		    "tenant", tenant, "volume", volume);

	td_status_sync_parse(st, &s);
	if (s.have_regions) {
		ADD(mx, TD_MX_REGIONS, (double)s.regions,
		    "tenant", tenant, "volume", volume);
		ADD(mx, TD_MX_OUTOFSYNC_REGIONS,
		    s.regions > s.in_sync ? (double)(s.regions - s.in_sync) : 0,
		    "tenant", tenant, "volume", volume);
	}
	if (s.action[0])
		for (k = 0; k < sizeof(sync_actions) / sizeof(sync_actions[0]);
		     k++)
			ADD(mx, TD_MX_SYNC_ACTION,
			    !strcmp(s.action, sync_actions[k]),
			    "tenant", tenant, "volume", volume,
			    "action", sync_actions[k]);
	if (s.have_progress) {
		ADD(mx, TD_MX_SYNC_DONE, (double)s.done,
		    "tenant", tenant, "volume", volume);
		ADD(mx, TD_MX_SYNC_TOTAL, (double)s.total,
		    "tenant", tenant, "volume", volume);
	}
	if (s.have_mismatches)
		ADD(mx, TD_MX_MISMATCHES, (double)s.mismatches,
		    "tenant", tenant, "volume", volume);
	for (i = 0; i < s.nremote; i++) {
		const char *cls = dmt_leg_class_name(
			dmt_status_leg_class(st, s.remote[i].leg));
		char leg[12];

		snprintf(leg, sizeof(leg), "%u", s.remote[i].leg);
		cls = cls ? cls : "remote";
		ADD(mx, TD_MX_REMOTE_OUTOFSYNC_BYTES,
		    (double)s.remote[i].unreplicated_bytes,
		    "tenant", tenant, "volume", volume, "leg", leg,
		    "class", cls);
		ADD(mx, TD_MX_REMOTE_RPO_SECONDS,
		    (double)s.remote[i].rpo_ms / 1000.0,
		    "tenant", tenant, "volume", volume, "leg", leg,
		    "class", cls);
		ADD(mx, TD_MX_REMOTE_CONSISTENT, s.remote[i].consistent,
		    "tenant", tenant, "volume", volume, "leg", leg,
		    "class", cls);
	}
	return 0;
}

int td_mx_add_diskstats(struct td_mx *mx, const char *tenant,
			const char *volume, const char *stat_line)
{
	unsigned long long f[7];
	int r;

	if (!stat_line || sscanf(stat_line, "%llu %llu %llu %llu %llu %llu %llu",
				 &f[0], &f[1], &f[2], &f[3], &f[4], &f[5],
				 &f[6]) != 7)
		return -EINVAL;
	r = td_mx_add(mx, TD_MX_READ_BYTES, (double)f[2] * 512, "tenant",
		      tenant, "volume", volume, NULL);
	return r ? r : td_mx_add(mx, TD_MX_WRITTEN_BYTES, (double)f[6] * 512,
				 "tenant", tenant, "volume", volume, NULL);
}

/* --- the atomic write --------------------------------------------------- */

int td_metrics_write_file(const char *path, const char *buf, size_t len)
{
	char tmp[4096];
	const char *slash = strrchr(path, '/');
	size_t dirlen = slash ? (size_t)(slash - path) + 1 : 0;
	size_t off = 0;
	int fd, r = 0;

	/*
	 * A dot name without ".prom": the textfile collector reads *.prom
	 * only, so it never sees a half-written file.
	 */
	if (!slash || !slash[1] ||
	    (size_t)snprintf(tmp, sizeof(tmp), "%.*s.%s.XXXXXX", (int)dirlen,
			     path, slash + 1) >= sizeof(tmp))
		return -EINVAL;
	fd = mkstemp(tmp);
	if (fd < 0)
		return -errno;
	while (off < len) {
		ssize_t n = write(fd, buf + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n < 0 ? -errno : -EIO;
			break;
		}
		off += (size_t)n;
	}
	/* node_exporter runs as its own user: the file must be readable. */
	if (!r && fchmod(fd, 0644))
		r = -errno;
	if (!r && fsync(fd))
		r = -errno;
	if (close(fd) && !r)
		r = -errno;
	if (!r && rename(tmp, path))
		r = -errno;
	if (r)
		unlink(tmp);
	return r;
}

/* --- attach latency ------------------------------------------------------ */

struct attach_lat {
	char tenant[TD_ID_MAX + 1];
	char volume[TD_ID_MAX + 1];
	double seconds;
};

static struct attach_lat *lat;
static size_t nlat;

int64_t td_metrics_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void td_metrics_attach_done(const char *tenant, const char *volume,
			    int64_t ms)
{
	struct attach_lat *n;
	size_t i;

	if (strlen(tenant) > TD_ID_MAX || strlen(volume) > TD_ID_MAX)
		return;
	for (i = 0; i < nlat; i++)
		if (!strcmp(lat[i].tenant, tenant) &&
		    !strcmp(lat[i].volume, volume))
			break;
	if (i == nlat) {
		n = realloc(lat, (nlat + 1) * sizeof(*lat));
		if (!n)
			return;
		lat = n;
		strcpy(lat[nlat].tenant, tenant);
		strcpy(lat[nlat].volume, volume);
		nlat++;
	}
	lat[i].seconds = (double)ms / 1000.0;
}

bool td_metrics_attach_seconds(const char *tenant, const char *volume,
				double *seconds)
{
	size_t i;

	for (i = 0; i < nlat; i++)
		if (!strcmp(lat[i].tenant, tenant) &&
		    !strcmp(lat[i].volume, volume)) {
			*seconds = lat[i].seconds;
			return true;
		}
	return false;
}

void td_metrics_reset(void)
{
	free(lat);
	lat = NULL;
	nlat = 0;
}

