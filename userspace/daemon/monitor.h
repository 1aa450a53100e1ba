/* SPDX-License-Identifier: GPL-2.0 */
/*
 * remote: the leg monitor.  Every monitor-interval seconds the
 * poll loop of tenantd reads the kernel status of every attached volume
 * and sends "leg <i> recover" to a failed (D) leg of class remote, with an
 * exponential back-off per (volume, leg).  Local and zone legs are never
 * retried.  Documentation/tenantd.md ("Leg monitor") and
 * Documentation/remote-legs.md ("Automatic retry").
 *
 * The schedule and the decision are pure functions (tests/unit/
 * test_monitor.c); td_monitor_tick() is the glue to the store and the
 * kernel.  Single-threaded: it runs between two requests.
 */
#ifndef TD_MONITOR_H
#define TD_MONITOR_H

#include <stdbool.h>
#include <stdint.h>
#include <json-c/json.h>

#define TD_MONITOR_INTERVAL_DEFAULT	5	/* seconds */
#define TD_MONITOR_INTERVAL_MAX		3600
#define TD_MONITOR_BACKOFF_MAX		300	/* seconds */

struct td_daemon;

/*
 * Seconds to wait before retry number @attempt (1: the first retry after
 * the leg was seen failed): @interval, then doubling, never more than
 * TD_MONITOR_BACKOFF_MAX (or @interval, if that is longer).
 */
unsigned int td_monitor_backoff_s(unsigned int interval, unsigned int attempt);

/* The retry state of one (volume, leg). */
struct td_mon_leg {
	char dm_name[128];
	unsigned int leg;
	bool active;		/* seen failed, not seen in sync since */
	bool held;		/* failed through tenantd's leg.fail: no retry */
	unsigned int attempts;	/* recovers sent since it was last in sync */
	int64_t next_ms;	/* the next retry, not before (monotonic ms) */
	int64_t failed_ms;	/* first seen failed */
	int last_err;		/* 0 or -errno of the last recover */
	bool seen;		/* in the last scan (the others are dropped) */
};

/* What one status line says about a leg. */
struct td_mon_obs {
	int cls;		/* enum dmt_leg_class, -1: unknown */
	char state;		/* 'A', 'a', 'D', '?' */
	bool idle;		/* <sync_action> idle: no resync/check running */
	bool key_loaded;
};

enum td_mon_action {
	TD_MON_NONE,		/* nothing to do */
	TD_MON_FAILED,		/* newly seen failed: first retry scheduled */
	TD_MON_WAIT,		/* failed, retry not due (or not now) */
	TD_MON_RETRY,		/* send "leg <i> recover" now */
	TD_MON_BACK,		/* back in sync: state reset */
};

/*
 * The decision for one leg at @now_ms; updates @l (starts, resets).  A
 * leg not of class remote is never retried; a retry waits while the
 * volume resyncs or checks, or its key is wiped.
 */
enum td_mon_action td_monitor_decide(struct td_mon_leg *l,
				     const struct td_mon_obs *o,
				     int64_t now_ms, unsigned int interval);
/* A recover was sent (@err: 0 or -errno): count it, schedule the next. */
void td_monitor_sent(struct td_mon_leg *l, int err, int64_t now_ms,
		     unsigned int interval);
/*
 * <sync_action> from the fields the status parser keeps as extras
 * (<in_sync>/<regions> <sync_action> ...): true if "idle".  Missing: false.
 */
bool td_monitor_sync_idle(const char *const *extra, unsigned int n);

/* The interval in effect (0: the monitor is off). */
unsigned int td_monitor_interval(const struct td_daemon *d);
/* Poll loop: scan when due; ms until the next scan, -1 if off. */
int64_t td_monitor_tick(struct td_daemon *d);
/*
 * One scan at @now_ms (monotonic) with @interval: read the status of every
 * attached volume, act on its remote legs (td_monitor_tick's work; tests
 * call it with their own clock).
 */
void td_monitor_scan(struct td_daemon *d, int64_t now_ms,
		     unsigned int interval);
/* leg.fail through tenantd: the leg stays failed until leg.recover. */
void td_monitor_hold(const char *dm_name, unsigned int leg, bool hold);
/*
 * volume status: the retry state of @dm_name's legs, an array of
 * {leg, attempts, next_retry_s, held, last_error}; NULL if none.
 */
json_object *td_monitor_json(const char *dm_name);
/* Shutdown: free the state. */
void td_monitor_stop(void);

#endif /* TD_MONITOR_H */
