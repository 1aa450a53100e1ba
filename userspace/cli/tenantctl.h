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
/* Send stdin verbatim, print the reply (tenantctl raw). */
int tc_raw(int in_fd);
int tc_parse_size(const char *s, uint64_t *out);
int tc_parse_leg(const char *s, json_object **leg);
/* 0 valid, 8 invalid; @msg says why or summarises. */
int tc_verify_file(FILE *f, const char *anchor, char *msg, size_t msglen);

/* Verb functions kept in their own files (tc-*.c), one block each. */
/* -- access (issue 6) -- tc-access.c */
int tc_access_request(const struct tc_verb *v, int argc, char **argv);
int tc_access_decide(const struct tc_verb *v, int argc, char **argv);
int tc_access_open(const struct tc_verb *v, int argc, char **argv);
int tc_access_end(const struct tc_verb *v, int argc, char **argv);
int tc_access_list(const struct tc_verb *v, int argc, char **argv);
/* "90", "90s", "15m", "2h" -> seconds; -EINVAL */
int tc_parse_duration(const char *s, uint64_t *out);
/* -- wipe (issue 7) -- */
/* -- udev (issue 8) -- */
/* -- remote (issue 4) -- */

#endif /* TC_TENANTCTL_H */
