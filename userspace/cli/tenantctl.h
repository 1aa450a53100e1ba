/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tenantctl internals, split from main() so that the unit tests can call
 * the verb table, the argument parsers and the offline audit verifier.
 */
#ifndef TC_TENANTCTL_H
#define TC_TENANTCTL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <json-c/json.h>

struct tc_verb {
	const char *object;
	const char *verb;
	const char *usage;
	const char *summary;
	int (*fn)(const struct tc_verb *v, int argc, char **argv);
};

extern const struct tc_verb tc_verbs[];	/* NULL-object terminated */

const struct tc_verb *tc_find_verb(const char *object, const char *verb);
int tc_main(int argc, char **argv);
/* Options shared with the transport. */
extern const char *opt_socket;
extern unsigned int opt_timeout;
extern bool opt_json;
/* One request, one reply (tests wrap it with -Wl,--wrap=tc_call). */
int tc_call(const char *verb, json_object *args, json_object **reply);
/* Print a reply's error (code, message, hint); returns its exit code. */
int tc_print_error(json_object *reply);
/* A field of a result object as text ("-" if absent or null), or 0. */
const char *tc_sget(json_object *o, const char *k);
int64_t tc_iget(json_object *o, const char *k);
/* {"tenant": T, "volume": V} */
json_object *tc_args_tv(const char *tenant, const char *volume);
/* Send stdin verbatim, print the reply (tenantctl raw). */
int tc_raw(int in_fd);
int tc_parse_size(const char *s, uint64_t *out);
int tc_parse_leg(const char *s, json_object **leg);
/* 0 valid, 8 invalid; @msg says why or summarises. */
int tc_verify_file(FILE *f, const char *anchor, char *msg, size_t msglen);

/* Verb functions kept in their own files (tc-*.c), one block each. */
/* -- access -- tc-access.c */
int tc_access_request(const struct tc_verb *v, int argc, char **argv);
int tc_access_decide(const struct tc_verb *v, int argc, char **argv);
int tc_access_open(const struct tc_verb *v, int argc, char **argv);
int tc_access_end(const struct tc_verb *v, int argc, char **argv);
int tc_access_list(const struct tc_verb *v, int argc, char **argv);
/* "90", "90s", "15m", "2h" -> seconds; -EINVAL */
int tc_parse_duration(const char *s, uint64_t *out);
/* -- wipe -- */
int tc_volume_delete(const struct tc_verb *v, int argc, char **argv);
int tc_tenant_delete(const struct tc_verb *v, int argc, char **argv);
int tc_wipe_status(const struct tc_verb *v, int argc, char **argv);
int tc_wipe_cert(const struct tc_verb *v, int argc, char **argv);
int tc_cert_verify(const struct tc_verb *v, int argc, char **argv);
int tc_tenant_audit_export(const struct tc_verb *v, int argc, char **argv);
int tc_tenant_audit_verify(const struct tc_verb *v, int argc, char **argv);
int tc_volume_export(const struct tc_verb *v, int argc, char **argv);
/* A descriptor tc_call passes with its request (SCM_RIGHTS); -1: none. */
extern int tc_send_fd;
/* The readable form of a certificate of sanitization. */
void tc_cert_text(json_object *cert, FILE *f);
/* 0 valid, 8 invalid: a tenant's audit export (records checked one by one). */
int tc_tenant_verify_file(FILE *f, char *msg, size_t msglen);
/* -- udev -- */
int tc_volume_auto(const struct tc_verb *v, int argc, char **argv);
int tc_leg_report(const struct tc_verb *v, int argc, char **argv);
/* "tenantctl attach ..." / "tenantctl detach ...": @argv[0] is the word. */
int tc_udev_alias(int argc, char **argv);
void tc_libvirt_disk(FILE *f, const char *tenant, const char *volume,
		     const char *device, const char *target);
/* run() of tenantctl.c: one request, errors printed, exit code back. */
/* A usage error for @v (NULL: the command line as a whole): the message,
 * the verb's usage line, and the exit code for usage errors. */
int tc_usage_err(const struct tc_verb *v, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int tc_run(const char *verb, json_object *args,
	   int (*print)(json_object *result, void *arg), void *arg);
/* -- remote -- */
/* -- metrics, progress (tc-progress.c) -- */
int tc_metrics(int argc, char **argv);		/* "tenantctl metrics" */
int tc_metrics_show(const struct tc_verb *v, int argc, char **argv);
/* volume status --watch: until the volume's sync action is idle. */
int tc_volume_watch(const char *tenant, const char *volume,
		    unsigned int poll_ms);
int64_t tc_now_ms(void);
/* volume status: the "sync" and "remote" fields of the kernel object. */
void tc_print_sync(json_object *kernel);
/* A progress line: on a terminal a bar redrawn in place, else a plain
 * line per 10 % step; rate and ETA from the first sample on. */
struct tc_progress {
	FILE *f;
	bool tty;
	bool started, drawn;
	int64_t t0;
	uint64_t done0;
	int step;		/* last 10 % step printed (plain lines) */
};
void tc_progress_init(struct tc_progress *p, FILE *f, bool tty);
/* @unit: "B" (shown as KiB, MiB...) or a word such as "regions". */
void tc_progress_update(struct tc_progress *p, const char *label,
			uint64_t done, uint64_t total, const char *unit,
			int64_t now_ms);
void tc_progress_end(struct tc_progress *p);
/* The line itself (rate <= 0: unknown yet). */
void tc_progress_format(char *buf, size_t len, bool tty, const char *label,
			uint64_t done, uint64_t total, double rate,
			const char *unit);
/* -- mfa -- tc-mfa.c */
int tc_mfa_enroll(const struct tc_verb *v, int argc, char **argv);
int tc_mfa_confirm(const struct tc_verb *v, int argc, char **argv);
int tc_mfa_reset(const struct tc_verb *v, int argc, char **argv);
int tc_mfa_list(const struct tc_verb *v, int argc, char **argv);
/* --code of the command line: a code, "-" (standard input), or NULL. */
extern const char *tc_opt_code;
/* The one-time code for @what: --code, a prompt on the terminal, or a
 * line of standard input.  0 or -errno (message printed). */
int tc_mfa_code(const char *what, char *buf, size_t len);
/*
 * tc_call() that adds the one-time code: --code up front, or asked for
 * (tc_mfa_code) and resent when tenantd answers "code-required".  When no
 * code can be had, *reply is that answer.  Takes @args like tc_call().
 */
int tc_call_coded(const char *verb, json_object *args, json_object **reply);

#endif /* TC_TENANTCTL_H */
