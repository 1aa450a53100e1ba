/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tenantd metrics: Prometheus text format (exposition format 0.0.4) for
 * node_exporter's textfile collector, and for "tenantctl metrics".
 * Documentation/tenantd.md ("Metrics") lists every family.
 *
 * This file is the part below the handlers (ops.c calls it): the sample
 * set and its text (pure: unit tested with status lines parsed by the real
 * parser), the typed status fields, the atomic file write and the attach
 * latencies.  Gathering from the store and the kernel, the poll-loop clock
 * and the metrics.get verb are in ops-metrics.c.
 * Names and labels are ours (ids, classes, states, the host name); nothing
 * a tenant or requester wrote (reasons, notes, data) and no key material
 * is ever a label or a value.
 */
#ifndef TD_METRICS_H
#define TD_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

struct dmt_status;

#define TD_METRICS_INTERVAL_DEFAULT	15	/* seconds */
#define TD_METRICS_INTERVAL_MAX		3600

enum td_mx_family {
	TD_MX_VOLUME_ATTACHED,
	TD_MX_KEY_LOADED,
	TD_MX_LEG_STATE,
	TD_MX_REGIONS,
	TD_MX_OUTOFSYNC_REGIONS,
	TD_MX_SYNC_ACTION,
	TD_MX_SYNC_DONE,
	TD_MX_SYNC_TOTAL,
	TD_MX_MISMATCHES,
	TD_MX_REMOTE_OUTOFSYNC_BYTES,
	TD_MX_REMOTE_RPO_SECONDS,
	TD_MX_REMOTE_CONSISTENT,
	TD_MX_READS,
	TD_MX_WRITES,
	TD_MX_DISCARDS,
	TD_MX_READ_ERRORS,
	TD_MX_WRITE_ERRORS,
	TD_MX_CRYPT_ERRORS,
	TD_MX_READ_BYTES,
	TD_MX_WRITTEN_BYTES,
	TD_MX_GRANTS_ACTIVE,
	TD_MX_REQUESTS_PENDING,
	TD_MX_WIPE_DONE,
	TD_MX_WIPE_TOTAL,
	TD_MX_AUDIT_RECORDS,
	TD_MX_ATTACH_SECONDS,
	TD_MX_STATUS_ERRORS,
	TD_MX__COUNT
};

/* The family's metric name (with the dmtenant_ prefix). */
const char *td_mx_name(enum td_mx_family f);

struct td_mx;

/* A sample set; every sample carries host="@host".  NULL if no memory. */
struct td_mx *td_mx_new(const char *host);
void td_mx_free(struct td_mx *mx);
/*
 * Add one sample.  @labels: name, value pairs, NULL-terminated (values
 * are escaped here); 0 or -ENOMEM / -EINVAL (an odd list).
 */
int td_mx_add(struct td_mx *mx, enum td_mx_family f, double value, ...)
	__attribute__((sentinel));
/*
 * One attached volume's samples from its kernel status line: leg states,
 * regions and resync progress, remote legs, mismatches, counters.  Fields
 * a kernel does not print are left out.
 */
int td_mx_add_status(struct td_mx *mx, const char *tenant, const char *volume,
		     const struct dmt_status *st);
/* Sum samples of one family with equal labels (counts built row by row). */
void td_mx_merge(struct td_mx *mx);
/*
 * Bytes read and written from a block device's stat line
 * (/sys/block/dm-N/stat: sectors of 512 bytes in fields 3 and 7).
 * -EINVAL if the line is not one.
 */
int td_mx_add_diskstats(struct td_mx *mx, const char *tenant,
			const char *volume, const char *stat_line);
/* The text: HELP and TYPE of every family, then its samples (malloc'd). */
char *td_mx_render(const struct td_mx *mx, size_t *len);

/* A label value escaped as the exposition format says (\\, \", \n). */
void td_mx_escape(const char *in, char *out, size_t outlen);

/*
 * The fields the kernel appends to a status line (dm-tenant.rst,
 * "Status"), typed.  Absent ones: have_* false.
 */
struct td_status_sync {
	bool have_regions;
	uint64_t in_sync, regions;
	char action[16];		/* "" if absent */
	bool have_progress;
	uint64_t done, total;
	bool have_mismatches;
	uint64_t mismatches;
	unsigned int nremote;
	struct {
		unsigned int leg;
		char mode[16];
		uint64_t unreplicated_bytes;
		uint64_t rpo_ms;
		bool consistent;
	} remote[8];
};
void td_status_sync_parse(const struct dmt_status *st,
			  struct td_status_sync *s);
/* volume.status: the parsed fields into @kernel ("sync", "remote"). */
void td_status_sync_json(const struct dmt_status *st, json_object *kernel);

/*
 * Replace @path with @len bytes of @buf: a temporary file in the same
 * directory, fsync, mode 0644, rename.  0 or -errno (nothing left behind).
 */
int td_metrics_write_file(const char *path, const char *buf, size_t len);

/* An attach that succeeded took @ms (the last one per volume is shown). */
void td_metrics_attach_done(const char *tenant, const char *volume,
			    int64_t ms);
/* The last attach of the volume, if one happened since tenantd started. */
bool td_metrics_attach_seconds(const char *tenant, const char *volume,
				double *seconds);
/* Monotonic ms (attach latency). */
int64_t td_metrics_now_ms(void);
/* Shutdown / tests: forget the attach latencies. */
void td_metrics_reset(void);

#endif /* TD_METRICS_H */
