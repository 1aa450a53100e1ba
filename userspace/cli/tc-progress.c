// SPDX-License-Identifier: GPL-2.0
/*
 * tenantctl: progress with rate and ETA, and the metrics verb.
 *
 *   metrics                          the text tenantd writes for
 *                                    node_exporter (operator)
 *   volume status T V --watch        a resync/recover/check as it runs
 *   wipe status --wait               (tc-wipe.c) a wipe as it runs
 *
 * On a terminal one line is redrawn in place (a bar, percent, rate, ETA);
 * otherwise (a pipe, a log) a plain line is printed at every 10 % step, so
 * logs stay short and readable.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../daemon/proto.h"
#include "tenantctl.h"

#define BAR_WIDTH	24

int64_t tc_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void human(char *buf, size_t len, double v, bool bytes)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	unsigned int u = 0;

	if (!bytes) {
		snprintf(buf, len, "%.0f", v);
		return;
	}
	while (v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, u ? "%.1f %s" : "%.0f %s", v, units[u]);
}

static void eta_text(char *buf, size_t len, double s)
{
	uint64_t t;

	if (s < 0) {
		snprintf(buf, len, "-");
		return;
	}
	t = (uint64_t)(s + 0.5);
	if (t >= 3600)
		snprintf(buf, len, "%" PRIu64 ":%02" PRIu64 ":%02" PRIu64,
			 t / 3600, t / 60 % 60, t % 60);
	else
		snprintf(buf, len, "%" PRIu64 ":%02" PRIu64, t / 60, t % 60);
}

void tc_progress_format(char *buf, size_t len, bool tty, const char *label,
			uint64_t done, uint64_t total, double rate,
			const char *unit)
{
	bool bytes = !strcmp(unit, "B");
	double frac = total ? (double)(done > total ? total : done) / total : 0;
	char d[32], t[32], r[48], eta[32];

	human(d, sizeof(d), (double)done, bytes);
	human(t, sizeof(t), (double)total, bytes);
	if (rate > 0) {
		char h[32];

		human(h, sizeof(h), rate, bytes);
		if (bytes)
			snprintf(r, sizeof(r), "%s/s", h);
		else
			snprintf(r, sizeof(r), "%.1f %s/s", rate, unit);
		eta_text(eta, sizeof(eta), done < total ?
			 (double)(total - done) / rate : 0);
	} else {
		strcpy(r, "-");
		strcpy(eta, "-");
	}
	if (tty) {
		char bar[BAR_WIDTH + 1];
		unsigned int fill = (unsigned int)(frac * BAR_WIDTH), i;

		for (i = 0; i < BAR_WIDTH; i++)
			bar[i] = i < fill ? '#' : (i == fill ? '>' : ' ');
		bar[BAR_WIDTH] = '\0';
		if (fill >= BAR_WIDTH)
			memset(bar, '#', BAR_WIDTH);
		/* \r and "erase to the end of line": one line, redrawn */
		snprintf(buf, len, "\r%s [%s] %5.1f%% %s, ETA %s\033[K", label,
			 bar, frac * 100, r, eta);
	} else {
		snprintf(buf, len, "%s: %d%% (%s of %s%s%s), %s, ETA %s\n",
			 label, (int)(frac * 100), d, t, bytes ? "" : " ",
			 bytes ? "" : unit, r, eta);
	}
}

void tc_progress_init(struct tc_progress *p, FILE *f, bool tty)
{
	memset(p, 0, sizeof(*p));
	p->f = f;
	p->tty = tty;
	p->step = -1;
}

void tc_progress_update(struct tc_progress *p, const char *label,
			uint64_t done, uint64_t total, const char *unit,
			int64_t now_ms)
{
	char line[256];
	double rate = 0;
	int step;

	/* The rate counts from the first sample this run has seen (a job
	 * resumed by tenantd starts midway). */
	if (!p->started || done < p->done0) {
		p->started = true;
		p->t0 = now_ms;
		p->done0 = done;
	}
	if (now_ms > p->t0 && done > p->done0)
		rate = (double)(done - p->done0) * 1000.0 /
			(double)(now_ms - p->t0);
	step = total ? (int)((done > total ? total : done) * 10 / total) : 0;
	if (!p->tty && step == p->step)
		return;
	p->step = step;
	tc_progress_format(line, sizeof(line), p->tty, label, done, total,
			   rate, unit);
	fputs(line, p->f);
	fflush(p->f);
	p->drawn = p->tty;
}

void tc_progress_end(struct tc_progress *p)
{
	if (p->drawn)
		fputc('\n', p->f);
	fflush(p->f);
	p->drawn = false;
}

void tc_print_sync(json_object *kernel)
{
	json_object *s, *a;
	size_t i;

	if (json_object_object_get_ex(kernel, "sync", &s)) {
		printf("sync:       %" PRId64 "/%" PRId64 " regions in sync, %s",
		       tc_iget(s, "in_sync"), tc_iget(s, "regions"),
		       tc_sget(s, "action"));
		if (strcmp(tc_sget(s, "action"), "idle"))
			printf(" %" PRId64 "/%" PRId64, tc_iget(s, "done"),
			       tc_iget(s, "total"));
		printf(", mismatches %" PRId64 "\n", tc_iget(s, "mismatches"));
	}
	if (json_object_object_get_ex(kernel, "remote", &a))
		for (i = 0; i < json_object_array_length(a); i++) {
			json_object *r = json_object_array_get_idx(a, i), *c;
			char b[32];

			json_object_object_get_ex(r, "consistent", &c);
			human(b, sizeof(b),
			      (double)tc_iget(r, "unreplicated_bytes"), true);
			printf("remote:     leg %" PRId64 " %s, %s unreplicated, RPO %.1f s, %s\n",
			       tc_iget(r, "leg"), tc_sget(r, "mode"), b,
			       (double)tc_iget(r, "rpo_ms") / 1000.0,
			       json_object_get_boolean(c) ? "consistent" :
			       "not consistent alone");
		}
}

/* --- volume status --watch ------------------------------------------------ */

int tc_volume_watch(const char *tenant, const char *volume,
		    unsigned int poll_ms)
{
	struct tc_progress p;
	char label[96];

	tc_progress_init(&p, stdout, isatty(1));
	for (;;) {
		json_object *reply = NULL, *ok, *res, *k, *s;
		const char *action;
		int r = tc_call("volume.status", tc_args_tv(tenant, volume),
				&reply);

		if (r || !json_object_object_get_ex(reply, "ok", &ok) ||
		    !json_object_get_boolean(ok)) {
			tc_progress_end(&p);
			if (r) {
				fprintf(stderr, "tenantctl: cannot talk to tenantd at %s\n",
					opt_socket);
				return 1;
			}
			r = tc_print_error(reply);
			json_object_put(reply);
			return r;
		}
		json_object_object_get_ex(reply, "result", &res);
		if (!json_object_object_get_ex(res, "kernel", &k) ||
		    !json_object_object_get_ex(k, "sync", &s)) {
			/* not attached, or a kernel without sync fields */
			json_object_put(reply);
			tc_progress_end(&p);
			return 0;
		}
		action = tc_sget(s, "action");
		if (!strcmp(action, "idle")) {
			json_object_put(reply);
			if (p.started)
				tc_progress_end(&p);
			return 0;
		}
		snprintf(label, sizeof(label), "%s/%s %s", tenant, volume,
			 action);
		tc_progress_update(&p, label, (uint64_t)tc_iget(s, "done"),
				   (uint64_t)tc_iget(s, "total"), "regions",
				   tc_now_ms());
		json_object_put(reply);
		usleep(poll_ms * 1000);
	}
}

/* --- tenantctl metrics ------------------------------------------------- */

static int metrics_print(void)
{
	json_object *reply = NULL, *ok, *res, *t;
	int r = tc_call("metrics.get", json_object_new_object(), &reply);

	if (r) {
		fprintf(stderr, "tenantctl: cannot talk to tenantd at %s\n",
			opt_socket);
		return 1;
	}
	if (!json_object_object_get_ex(reply, "ok", &ok) ||
	    !json_object_get_boolean(ok)) {
		r = tc_print_error(reply);
		json_object_put(reply);
		return r;
	}
	if (opt_json) {
		json_object_object_get_ex(reply, "result", &res);
		printf("%s\n", json_object_to_json_string_ext(res,
		       JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	} else if (json_object_object_get_ex(reply, "result", &res) &&
		   json_object_object_get_ex(res, "text", &t)) {
		fputs(json_object_get_string(t), stdout);
	}
	json_object_put(reply);
	return 0;
}

int tc_metrics_show(const struct tc_verb *v, int argc, char **argv)
{
	(void)argv;
	if (argc) {
		fprintf(stderr, "usage: tenantctl %s %s\n", v->object, v->verb);
		return 2;
	}
	return metrics_print();
}

int tc_metrics(int argc, char **argv)
{
	int i = argc > 1 && !strcmp(argv[1], "show") ? 2 : 1;

	if (argc > i) {
		printf("usage: tenantctl metrics [show]\n"
		       "  the metrics tenantd writes for node_exporter, in Prometheus text format (operator)\n");
		return strcmp(argv[i], "--help") && strcmp(argv[i], "-h") ? 2 : 0;
	}
	return metrics_print();
}
