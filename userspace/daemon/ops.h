/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tenantd request handling: authorise, act through libdmtenant, record the
 * outcome in the audit chain, build the reply.  No socket code here.
 */
#ifndef TD_OPS_H
#define TD_OPS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <json-c/json.h>

#include "roles.h"
#include "store.h"

struct dmt_ctx;
struct dmt_key;

struct td_daemon {
	struct td_config cfg;
	struct td_store *st;
	struct dmt_ctx *dmt;
	struct dmt_key *master;
	const char *dev_dir;		/* "/dev" (tests may point elsewhere) */
	const char *owner_dir;		/* udev owner files; NULL: the default */
	bool no_dm;			/* --no-dm: never touch device-mapper */
};

struct td_caller {
	uid_t uid;
	pid_t pid;
	/* wipe: a descriptor passed with the request (SCM_RIGHTS),
	 * owned by the connection; a handler that keeps it dup()s it. */
	bool has_fd;
	int fd;
};

/*
 * Handle one request line (without the newline) from @c.  Always returns a
 * reply object (the caller json_object_put()s it), and always appends one
 * audit record, whatever the outcome.
 */
json_object *td_handle_line(struct td_daemon *d, const struct td_caller *c,
			    const char *line, size_t len);
/* The dispatch has a handler for @verb (others are answered unsupported). */
bool td_verb_served(enum td_verb verb);
/* A reply for a request that never got complete (timeout, too large). */
json_object *td_handle_broken(struct td_daemon *d, const struct td_caller *c,
			      enum td_err e, const char *msg);

/* The /dev/mapper name of a volume: "tenant+<tenant>+<volume>". */
void td_dm_name(const char *tenant, const char *volume, char *buf,
		size_t len);

/* Daemon events (start, stop, reload, reconcile) in the audit chain. */
void td_audit_event(struct td_daemon *d, const char *action,
		    const char *object, const char *result,
		    const char *detail);

/* Startup, before anything is appended: verify the audit chain and its
 * anchors; a problem is logged and recorded ("daemon.audit-check"). */
void td_audit_startup_check(struct td_daemon *d);
/* Startup: adopt live TENANT- devices, close records of vanished ones. */
void td_reconcile(struct td_daemon *d);
/* Startup: erase the legs of volume creates a stop interrupted. */
void td_cleanup_intents(struct td_daemon *d);
/* Startup: finish KEK rotations a crash interrupted. */
void td_resume_rotations(struct td_daemon *d);
/* -- access -- */
/* Startup: close grants that expired while tenantd was down; remove grant
 * mappings no active grant holds (ops-access.c). */
void td_access_startup(struct td_daemon *d);
/* Poll loop: end what is due; ms until the next deadline, -1 if none. */
int64_t td_access_tick(struct td_daemon *d);

/* -- wipe: destruction jobs (ops-wipe.c) -- */
/* Startup: restart the wipes a stop or crash interrupted. */
void td_wipe_resume(struct td_daemon *d);
/* Poll loop: certificates of finished wipes; busy: poll at least 2/s. */
void td_wipe_tick(struct td_daemon *d);
bool td_wipe_busy(void);
/* Finished jobs are pruned after this many days unless tenantd.conf says
 * otherwise (wipe-retention-days); their certificates stay bound in the
 * audit chain. */
#define TD_WIPE_RETENTION_DAYS_DEFAULT	365
/* Shutdown: stop the workers (they resume at the next start). */
void td_wipe_stop(struct td_daemon *d);
/* -- metrics (ops-metrics.c) -- */
/* Poll loop: write the textfile when due; ms until the next, -1 if off. */
int64_t td_metrics_tick(struct td_daemon *d);
/* Everything tenantd knows now, in Prometheus text (malloc'd); NULL: no
 * memory. */
char *td_metrics_collect(struct td_daemon *d, size_t *len);
/* Write the textfile now; 0 or -errno, logged only when it starts to
 * fail (and when it works again). */
int td_metrics_write_now(struct td_daemon *d);
/* Shutdown: forget the clock and the error logged. */
void td_metrics_stop(void);
/* Progress of the running wipe jobs (metrics). */
struct td_wipe_progress {
	int64_t job;
	char tenant[TD_ID_MAX + 1];
	char volume[TD_ID_MAX + 1];
	char method[24];
	uint64_t done, total;		/* bytes, all passes and legs */
};
typedef int (*td_wipe_progress_fn)(const struct td_wipe_progress *w,
				   void *arg);
int td_wipe_progress_foreach(struct td_daemon *d, td_wipe_progress_fn fn,
			     void *arg);

#endif /* TD_OPS_H */
