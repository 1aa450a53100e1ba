// SPDX-License-Identifier: GPL-2.0
/*
 * remote: the leg monitor (monitor.h).  A failed remote leg
 * (state D: a remote write or flush error) takes nothing until
 * "leg <i> recover"; when the link comes back, the remote copy should be
 * caught up without an operator.  tenantd retries it with a back-off.
 *
 * No thread: td_monitor_tick() runs from the daemon's poll loop, between
 * two requests, like the access clock; the store and libdmtenant see one
 * caller at a time.  Nothing here touches a key: the recover message
 * carries none, and the status line has none.
 *
 * A recover is only sent while the volume's <sync_action> is idle: a
 * "leg <i> recover" for a synchronous leg (a remote leg of a remote_sync
 * volume) that reaches the target while the resync worker copies a region
 * would leave that region stale on the leg (ops-udev.c avoids it by
 * recovering while suspended).  Waiting for idle avoids the race without
 * a suspend, which would drain the remote stream and could block the
 * daemon (and the volume's I/O) behind a hung transport.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <dmtenant.h>

#include "log.h"
#include "monitor.h"
#include "ops-internal.h"

/* --- the schedule and the decision (pure) ------------------------------- */

unsigned int td_monitor_backoff_s(unsigned int interval, unsigned int attempt)
{
	unsigned int cap = interval > TD_MONITOR_BACKOFF_MAX ? interval :
		TD_MONITOR_BACKOFF_MAX;
	unsigned int d = interval;

	while (attempt-- > 1 && d < cap)
		d = d > cap / 2 ? cap : d * 2;
	return d < cap ? d : cap;
}

static void leg_reset(struct td_mon_leg *l)
{
	l->active = false;
	l->held = false;
	l->attempts = 0;
	l->next_ms = 0;
	l->failed_ms = 0;
	l->last_err = 0;
}

enum td_mon_action td_monitor_decide(struct td_mon_leg *l,
				     const struct td_mon_obs *o,
				     int64_t now_ms, unsigned int interval)
{
	if (o->cls != DMT_LEG_REMOTE) {
		leg_reset(l);	/* local and zone legs: never */
		return TD_MON_NONE;
	}
	switch (o->state) {
	case DMT_LEG_STATE_ALIVE:
		if (l->active) {
			leg_reset(l);
			return TD_MON_BACK;
		}
		leg_reset(l);
		return TD_MON_NONE;
	case DMT_LEG_STATE_DEAD:
		if (l->held)
			return TD_MON_NONE;
		if (!l->active) {
			l->active = true;
			l->attempts = 0;
			l->last_err = 0;
			l->failed_ms = now_ms;
			l->next_ms = now_ms +
				(int64_t)td_monitor_backoff_s(interval, 1) * 1000;
			return TD_MON_FAILED;
		}
		if (now_ms < l->next_ms || !o->idle || !o->key_loaded)
			return TD_MON_WAIT;
		return TD_MON_RETRY;
	default:
		/* 'a': catching up (after a retry, or an operator's
		 * recover); its count is kept until it is in sync. */
		return TD_MON_NONE;
	}
}

void td_monitor_sent(struct td_mon_leg *l, int err, int64_t now_ms,
		     unsigned int interval)
{
	l->attempts++;
	l->last_err = err;
	l->next_ms = now_ms +
		(int64_t)td_monitor_backoff_s(interval, l->attempts + 1) * 1000;
}

bool td_monitor_sync_idle(const char *const *extra, unsigned int n)
{
	return n >= 2 && extra[1] && !strcmp(extra[1], "idle");
}

/* --- the state table ---------------------------------------------------- */

static struct td_mon_leg *tab;
static size_t ntab, captab;
static int64_t next_scan;	/* monotonic ms; 0: at the next tick */
static bool holds_loaded;	/* the store's leg holds are in tab */

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct td_mon_leg *leg_find(const char *dm_name, unsigned int leg,
				   bool create)
{
	struct td_mon_leg *n;
	size_t i;

	for (i = 0; i < ntab; i++)
		if (tab[i].leg == leg && !strcmp(tab[i].dm_name, dm_name))
			return &tab[i];
	if (!create || strlen(dm_name) >= sizeof(tab[0].dm_name))
		return NULL;
	if (ntab == captab) {
		size_t nc = captab ? captab * 2 : 8;

		n = realloc(tab, nc * sizeof(*tab));
		if (!n)
			return NULL;
		tab = n;
		captab = nc;
	}
	n = &tab[ntab++];
	memset(n, 0, sizeof(*n));
	strcpy(n->dm_name, dm_name);
	n->leg = leg;
	n->seen = true;
	return n;
}

void td_monitor_hold(const char *dm_name, unsigned int leg, bool hold)
{
	struct td_mon_leg *l = leg_find(dm_name, leg, hold);

	if (!l)
		return;
	if (hold) {
		leg_reset(l);
		l->held = true;
	} else {
		l->held = false;
	}
}

json_object *td_monitor_json(const char *dm_name)
{
	json_object *arr = NULL;
	int64_t now = mono_ms();
	size_t i;

	for (i = 0; i < ntab; i++) {
		const struct td_mon_leg *l = &tab[i];
		json_object *o;

		if (strcmp(l->dm_name, dm_name) || (!l->active && !l->held))
			continue;
		if (!arr)
			arr = json_object_new_array();
		o = json_object_new_object();
		json_object_object_add(o, "leg", json_object_new_int(l->leg));
		json_object_object_add(o, "held",
				       json_object_new_boolean(l->held));
		if (l->active) {
			json_object_object_add(o, "attempts",
				json_object_new_int64(l->attempts));
			json_object_object_add(o, "failed_for_s",
				json_object_new_int64((now - l->failed_ms) / 1000));
			json_object_object_add(o, "next_retry_s",
				json_object_new_int64(l->next_ms > now ?
					(l->next_ms - now + 999) / 1000 : 0));
			if (l->last_err)
				json_object_object_add(o, "last_error",
					json_object_new_string(strerror(-l->last_err)));
		}
		json_object_array_add(arr, o);
	}
	return arr;
}

void td_monitor_stop(void)
{
	free(tab);
	tab = NULL;
	ntab = captab = 0;
	next_scan = 0;
	holds_loaded = false;
}

static int restore_hold(const char *tenant, const char *volume,
			unsigned int leg, void *arg)
{
	char name[128];

	(void)arg;
	td_dm_name(tenant, volume, name, sizeof(name));
	td_monitor_hold(name, leg, true);
	return 0;
}

/* --- the scan ------------------------------------------------------------- */

unsigned int td_monitor_interval(const struct td_daemon *d)
{
	if (d->no_dm)
		return 0;
	return d->cfg.monitor_interval_set ? d->cfg.monitor_interval :
		TD_MONITOR_INTERVAL_DEFAULT;
}

static const char *err_result(int err)
{
	switch (-err) {
	case 0:
		return "ok";
	case EINVAL:	/* not failed any more */
	case EBUSY:	/* check/repair running */
		return td_err_name(TD_E_CONFLICT);
	case ENOENT:
	case ENODEV:
		return td_err_name(TD_E_NOT_FOUND);
	default:
		return td_err_name(TD_E_INTERNAL);
	}
}

static void retry(struct td_daemon *d, const struct td_volume *v,
		  struct td_mon_leg *l, int64_t now, unsigned int iv)
{
	char msg[32], obj[112], detail[200];
	unsigned int next;
	int64_t down = (now - l->failed_ms) / 1000;
	int r;

	snprintf(msg, sizeof(msg), "leg %u recover", l->leg);
	r = dmt_dev_message(d->dmt, v->dm_name, msg, NULL, 0);
	td_monitor_sent(l, r, now, iv);
	next = td_monitor_backoff_s(iv, l->attempts + 1);
	td_fmt(obj, sizeof(obj), "%s/%s/leg%u", v->tenant, v->id, l->leg);
	if (r)
		td_fmt(detail, sizeof(detail),
		       "%s: attempt %u, failed %" PRId64 " s ago: %s; next in %u s",
		       msg, l->attempts, down, strerror(-r), next);
	else
		td_fmt(detail, sizeof(detail),
		       "%s: attempt %u, failed %" PRId64 " s ago: catching up; next in %u s if it fails again",
		       msg, l->attempts, down, next);
	td_log(r ? LOG_WARNING : LOG_INFO, "%s/%s: remote leg %u: %s",
	       v->tenant, v->id, l->leg, detail);
	td_audit_event(d, "daemon.leg-retry", obj, err_result(r), detail);
}

static void scan_volume(struct td_daemon *d, const struct td_volume *v,
			int64_t now, unsigned int iv)
{
	struct dmt_status *st = NULL;
	struct td_mon_obs o;
	const char *extra[2];
	enum td_mon_action action;
	unsigned int i, n;
	bool sent = false, held;
	int r = dmt_dev_status(d->dmt, v->dm_name, &st);

	if (r) {
		td_log(LOG_DEBUG, "monitor: %s: status: %s", v->dm_name,
		       strerror(-r));
		for (i = 0; i < ntab; i++)	/* keep its schedule */
			if (!strcmp(tab[i].dm_name, v->dm_name))
				tab[i].seen = true;
		return;
	}
	if (strcmp(dmt_status_tenant(st) ? dmt_status_tenant(st) : "",
		   v->tenant) ||
	    strcmp(dmt_status_volume(st) ? dmt_status_volume(st) : "",
		   v->id)) {
		td_log(LOG_WARNING, "monitor: %s is not %s/%s: left alone",
		       v->dm_name, v->tenant, v->id);
		dmt_status_free(st);
		return;
	}
	n = dmt_status_nr_extra(st);
	for (i = 0; i < 2; i++)
		extra[i] = dmt_status_extra(st, i);
	o.idle = td_monitor_sync_idle(extra, n < 2 ? n : 2);
	o.key_loaded = dmt_status_key_state(st) == DMT_KEY_STATE_LOADED;
	for (i = 0; i < dmt_status_nr_legs(st); i++) {
		struct td_mon_leg *l;

		/*
		 * One recover per volume and scan: a synchronous leg's
		 * recover starts a resync, and the next one must wait for
		 * it (the status says so at the next scan).
		 */
		if (sent)
			o.idle = false;
		o.cls = dmt_status_leg_class(st, i);
		o.state = (char)dmt_status_leg_state(st, i);
		l = leg_find(v->dm_name, i, o.cls == DMT_LEG_REMOTE);
		if (!l)
			continue;
		l->seen = true;
		held = l->held;
		action = td_monitor_decide(l, &o, now, iv);
		/* Seen in sync again (recovered outside tenantd): released. */
		if (held && !l->held &&
		    td_leg_hold_set(d->st, v->tenant, v->id, i, false))
			td_log(LOG_ERR, "monitor: %s/%s: leg %u: hold not released: %s",
			       v->tenant, v->id, i, td_store_err(d->st));
		switch (action) {
		case TD_MON_FAILED:
			td_log(LOG_WARNING, "%s/%s: remote leg %u failed: first retry in %u s",
			       v->tenant, v->id, i,
			       td_monitor_backoff_s(iv, 1));
			break;
		case TD_MON_BACK:
			td_log(LOG_INFO, "%s/%s: remote leg %u in sync again",
			       v->tenant, v->id, i);
			break;
		case TD_MON_RETRY:
			retry(d, v, l, now, iv);
			sent = true;
			break;
		default:
			break;
		}
	}
	dmt_status_free(st);
}

void td_monitor_scan(struct td_daemon *d, int64_t now, unsigned int iv)
{
	struct vol_list vl;
	size_t i, j;

	/* Holds set by leg.fail before a restart: loaded before any retry. */
	if (!holds_loaded) {
		if (td_leg_hold_foreach(d->st, restore_hold, NULL)) {
			td_log(LOG_ERR, "monitor: leg holds: %s: no retries until they are read",
			       td_store_err(d->st));
			return;
		}
		holds_loaded = true;
	}
	for (i = 0; i < ntab; i++)
		tab[i].seen = false;
	if (op_collect_vols(d->st, NULL, &vl)) {
		td_log(LOG_ERR, "monitor: database: %s", td_store_err(d->st));
		free(vl.v);
		for (i = 0; i < ntab; i++)
			tab[i].seen = true;	/* keep the state */
		return;
	}
	for (i = 0; i < vl.n; i++)
		if (vl.v[i].attached && vl.v[i].dm_name[0] &&
		    vl.v[i].nlegs > 1)
			scan_volume(d, &vl.v[i], now, iv);
	free(vl.v);
	/*
	 * Volumes detached (or legs gone) since: forget them, except a hold
	 * (the leg is still failed when the volume is attached again).
	 */
	for (i = j = 0; i < ntab; i++)
		if (tab[i].seen || tab[i].held)
			tab[j++] = tab[i];
	ntab = j;
}

int64_t td_monitor_tick(struct td_daemon *d)
{
	unsigned int iv = td_monitor_interval(d);
	int64_t now = mono_ms();

	static unsigned int told = ~0U;

	if (iv != told) {
		told = iv;
		if (iv)
			td_log(LOG_INFO, "leg monitor: every %u s, failed remote legs retried",
			       iv);
		else
			td_log(LOG_INFO, "leg monitor: off");
	}
	if (!iv)
		return -1;
	if (next_scan > now + (int64_t)iv * 1000)
		next_scan = now + (int64_t)iv * 1000;	/* shorter after SIGHUP */
	if (now < next_scan)
		return next_scan - now;
	td_monitor_scan(d, now, iv);
	next_scan = mono_ms() + (int64_t)iv * 1000;
	return (int64_t)iv * 1000;
}
