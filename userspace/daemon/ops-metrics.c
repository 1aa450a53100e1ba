// SPDX-License-Identifier: GPL-2.0
/*
 * Metrics from what tenantd knows (metrics.h has the format): the store's
 * volumes, grants, wipe jobs and audit chain, and the kernel's status of
 * every attached volume.  td_metrics_tick() writes them to the textfile
 * from the poll loop, between two requests, like the leg monitor; the
 * metrics.get verb answers with the same text (tenantctl metrics), for
 * the operator only: the text names every tenant and volume of the host.
 *
 * A write that fails (a missing or corrupt directory, no permission, a
 * full disk) is logged once, and once more when it works again; tenantd
 * goes on serving and retries every interval.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <dmtenant.h>

#include "access.h"
#include "log.h"
#include "metrics.h"
#include "ops-internal.h"

static int last_err;		/* of the last write; 0: it worked */
static int64_t next_write;	/* monotonic ms; 0: at the next tick */

struct gather {
	struct td_daemon *d;
	struct td_mx *mx;
	int err;
};

static int grant_sample(const struct td_grant *g, void *arg)
{
	struct gather *ga = arg;
	enum td_mx_family f;

	if (g->state == TD_GS_ACTIVE)
		f = TD_MX_GRANTS_ACTIVE;
	else if (g->state == TD_GS_PENDING)
		f = TD_MX_REQUESTS_PENDING;
	else
		return 0;
	/* Counted per volume (merged below): no reasons, no requesters. */
	if (!ga->err)
		ga->err = td_mx_add(ga->mx, f, 1, "tenant", g->tenant,
				    "volume", g->volume, NULL);
	return 0;
}

static int wipe_sample(const struct td_wipe_progress *w, void *arg)
{
	struct gather *ga = arg;
	char job[24];

	snprintf(job, sizeof(job), "%" PRId64, w->job);
	if (!ga->err)
		ga->err = td_mx_add(ga->mx, TD_MX_WIPE_DONE, (double)w->done,
				    "tenant", w->tenant, "volume", w->volume,
				    "job", job, "method", w->method, NULL);
	if (!ga->err)
		ga->err = td_mx_add(ga->mx, TD_MX_WIPE_TOTAL, (double)w->total,
				    "tenant", w->tenant, "volume", w->volume,
				    "job", job, "method", w->method, NULL);
	return 0;
}

/* Bytes through the dm device, from sysfs (its node names the minor). */
static int diskstats_samples(struct gather *ga, const struct td_volume *v)
{
	char path[64], line[512];
	struct stat sb;
	FILE *f;
	int r = 0;

	if (stat(v->device, &sb) || !S_ISBLK(sb.st_mode))
		return 0;
	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/stat",
		 major(sb.st_rdev), minor(sb.st_rdev));
	f = fopen(path, "re");
	if (!f)
		return 0;
	if (fgets(line, sizeof(line), f))
		r = td_mx_add_diskstats(ga->mx, v->tenant, v->id, line);
	fclose(f);
	return r == -EINVAL ? 0 : r;
}

static int volume_samples(const struct td_volume *v, void *arg)
{
	struct gather *ga = arg;
	struct dmt_status *st = NULL;
	double secs;
	bool bad;
	int r;

	r = td_mx_add(ga->mx, TD_MX_VOLUME_ATTACHED, v->attached, "tenant",
		      v->tenant, "volume", v->id, NULL);
	if (!r && td_metrics_attach_seconds(v->tenant, v->id, &secs))
		r = td_mx_add(ga->mx, TD_MX_ATTACH_SECONDS, secs, "tenant",
			      v->tenant, "volume", v->id, NULL);
	if (r || !v->attached || !v->dm_name[0] || ga->d->no_dm) {
		ga->err = ga->err ? ga->err : r;
		return 0;
	}
	bad = dmt_dev_status(ga->d->dmt, v->dm_name, &st) ||
		strcmp(dmt_status_tenant(st) ? dmt_status_tenant(st) : "",
		       v->tenant) ||
		strcmp(dmt_status_volume(st) ? dmt_status_volume(st) : "",
		       v->id);
	r = td_mx_add(ga->mx, TD_MX_STATUS_ERRORS, bad, "tenant", v->tenant,
		      "volume", v->id, NULL);
	if (!r && !bad)
		r = td_mx_add_status(ga->mx, v->tenant, v->id, st);
	if (!r && !bad)
		r = diskstats_samples(ga, v);
	dmt_status_free(st);
	ga->err = ga->err ? ga->err : r;
	return 0;
}

char *td_metrics_collect(struct td_daemon *d, size_t *len)
{
	struct gather ga = { .d = d };
	char host[256] = "", hash[TD_HASH_HEX], *text;
	int64_t seq = 0;

	if (gethostname(host, sizeof(host) - 1))
		strcpy(host, "localhost");
	ga.mx = td_mx_new(host);
	if (!ga.mx)
		return NULL;
	/* A part that cannot be read is left out; the rest is still worth
	 * showing (dmtenant_status_errors says which volume). */
	if (td_volume_foreach(d->st, NULL, volume_samples, &ga) || ga.err)
		td_log(LOG_DEBUG, "metrics: volumes: %s", td_store_err(d->st));
	ga.err = 0;
	if (td_grant_foreach(d->st, true, grant_sample, &ga) || ga.err)
		td_log(LOG_DEBUG, "metrics: grants: %s", td_grant_err(d->st));
	ga.err = 0;
	if (td_wipe_progress_foreach(d, wipe_sample, &ga) || ga.err)
		td_log(LOG_DEBUG, "metrics: wipe jobs unreadable");
	if (!td_audit_head(d->st, &seq, hash))
		td_mx_add(ga.mx, TD_MX_AUDIT_RECORDS, (double)seq, NULL);
	td_mx_merge(ga.mx);
	text = td_mx_render(ga.mx, len);
	td_mx_free(ga.mx);
	return text;
}

enum td_err op_metrics_get(struct op *op)
{
	enum td_err e = op_authorize(op, NULL, NULL);
	size_t len = 0;
	char *text;

	if (e)
		return e;
	text = td_metrics_collect(op->d, &len);
	if (!text)
		return op_fail(op, TD_E_INTERNAL, "out of memory");
	op->result = json_object_new_object();
	json_object_object_add(op->result, "format", json_object_new_string(
		"text/plain; version=0.0.4"));
	json_object_object_add(op->result, "text",
			       json_object_new_string_len(text, (int)len));
	free(text);
	return TD_OK;
}

/* --- the textfile clock ------------------------------------------------- */

static unsigned int interval_s(const struct td_daemon *d)
{
	if (!d->cfg.metrics_path)
		return 0;
	return d->cfg.metrics_interval ? d->cfg.metrics_interval :
		TD_METRICS_INTERVAL_DEFAULT;
}

int td_metrics_write_now(struct td_daemon *d)
{
	size_t len = 0;
	char *text;
	int r;

	if (!d->cfg.metrics_path)
		return -EINVAL;
	text = td_metrics_collect(d, &len);
	r = text ? td_metrics_write_file(d->cfg.metrics_path, text, len) :
		-ENOMEM;
	free(text);
	if (r && !last_err)
		td_log(LOG_ERR, "metrics: cannot write %s: %s (retried every %u s, not logged again until it works; check the directory, its permissions and free space)",
		       d->cfg.metrics_path, strerror(-r), interval_s(d));
	else if (!r && last_err)
		td_log(LOG_INFO, "metrics: %s written again",
		       d->cfg.metrics_path);
	last_err = r;
	return r;
}

int64_t td_metrics_tick(struct td_daemon *d)
{
	unsigned int iv = interval_s(d);
	int64_t now = td_metrics_now_ms();

	if (!iv)
		return -1;
	if (next_write > now + (int64_t)iv * 1000)
		next_write = now + (int64_t)iv * 1000;	/* shorter after SIGHUP */
	if (now < next_write)
		return next_write - now;
	next_write = now + (int64_t)iv * 1000;
	td_metrics_write_now(d);
	return (int64_t)iv * 1000;
}

void td_metrics_stop(void)
{
	last_err = 0;
	next_write = 0;
	td_metrics_reset();
}
