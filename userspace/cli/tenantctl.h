/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tenantctl internals, split from main() so that the unit tests can call
 * the verb table, the argument parsers and the offline audit verifier.
 */
#ifndef TC_TENANTCTL_H
#define TC_TENANTCTL_H

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
/* One request, one reply (tests wrap it with -Wl,--wrap=tc_call). */
int tc_call(const char *verb, json_object *args, json_object **reply);
/* Send stdin verbatim, print the reply (tenantctl raw). */
int tc_raw(int in_fd);
int tc_parse_size(const char *s, uint64_t *out);
int tc_parse_leg(const char *s, json_object **leg);
/* 0 valid, 8 invalid; @msg says why or summarises. */
int tc_verify_file(FILE *f, const char *anchor, char *msg, size_t msglen);

/* Verb functions kept in their own files (tc-*.c), one block each. */
/* -- access (issue 6) -- */
/* -- wipe (issue 7) -- */
/* -- udev (issue 8) -- */
int tc_volume_auto(const struct tc_verb *v, int argc, char **argv);
int tc_leg_report(const struct tc_verb *v, int argc, char **argv);
/* "tenantctl attach ..." / "tenantctl detach ...": @argv[0] is the word. */
int tc_udev_alias(int argc, char **argv);
void tc_libvirt_disk(FILE *f, const char *tenant, const char *volume,
		     const char *device, const char *target);
/* run() of tenantctl.c: one request, errors printed, exit code back. */
int tc_run(const char *verb, json_object *args,
	   int (*print)(json_object *result, void *arg), void *arg);
/* -- remote (issue 4) -- */

#endif /* TC_TENANTCTL_H */
