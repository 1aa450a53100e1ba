/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tenantd wire protocol: newline-delimited JSON requests and replies over a
 * unix stream socket (Documentation/tenantd-protocol.md).  Shared by the
 * daemon and tenantctl: verb table, argument checks, error codes and their
 * exit codes.  No I/O here.
 */
#ifndef TD_PROTO_H
#define TD_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

#define TD_PROTO_VERSION	1
/* Longest request line, newline excluded. */
#define TD_MAX_REQUEST		(64 * 1024)
#define TD_ID_MAX		23	/* tenant and volume ids */
#define TD_VM_MAX		64	/* VM names */
#define TD_PATH_MAX		256	/* leg device paths */
#define TD_MAX_LEGS		8
#define TD_TEXT_MAX		120	/* free text: access reasons, notes */

#define TD_DEFAULT_SOCKET	"/run/tenantd/tenantd.sock"
#define TD_DEFAULT_CONFIG	"/etc/dm-tenant/tenantd.conf"

enum td_err {
	TD_OK = 0,
	TD_E_BAD_REQUEST,	/* not JSON, wrong shape, truncated */
	TD_E_TOO_LARGE,		/* request line over TD_MAX_REQUEST */
	TD_E_UNKNOWN_VERB,
	TD_E_INVALID_ARGUMENT,	/* missing/unknown/ill-typed/ill-formed arg */
	TD_E_DENIED,
	TD_E_NOT_FOUND,
	TD_E_CONFLICT,		/* exists, attached, in use */
	TD_E_UNSUPPORTED,	/* the kernel or library cannot do it (yet) */
	TD_E_TIMEOUT,		/* request not complete in time */
	TD_E_BUSY,		/* too many connections */
	TD_E_INTERNAL,
	/* -- mfa -- the verb needs a one-time code: ask for it, resend */
	TD_E_CODE_REQUIRED,
	TD_E__COUNT
};

const char *td_err_name(enum td_err e);
enum td_err td_err_from_name(const char *name);
/* tenantctl exit code for a daemon error (0 ok, 1 error, 2 usage, ...). */
int td_err_exit_code(enum td_err e);

enum td_verb {
	TD_V_TENANT_CREATE,
	TD_V_TENANT_LIST,
	TD_V_TENANT_DELETE,
	TD_V_TENANT_ROTATE_KEK,
	TD_V_VOLUME_CREATE,
	TD_V_VOLUME_LIST,
	TD_V_VOLUME_STATUS,
	TD_V_VOLUME_ASSIGN,
	TD_V_VOLUME_ATTACH,
	TD_V_VOLUME_DETACH,
	TD_V_VOLUME_DELETE,
	TD_V_LEG_FAIL,
	TD_V_LEG_RECOVER,
	TD_V_AUDIT_EXPORT,
	TD_V_AUDIT_VERIFY,
	/* -- access -- */
	TD_V_ACCESS_REQUEST,
	TD_V_ACCESS_APPROVE,
	TD_V_ACCESS_DENY,
	TD_V_ACCESS_OPEN,
	TD_V_ACCESS_CLOSE,
	TD_V_ACCESS_REVOKE,
	TD_V_ACCESS_LIST,
	/* -- wipe -- */
	TD_V_WIPE_STATUS,
	TD_V_TENANT_AUDIT_EXPORT,
	TD_V_VOLUME_EXPORT,
	/* -- udev -- */
	TD_V_LEG_SEEN,
	TD_V_LEG_GONE,
	TD_V_VOLUME_AUTO,
	/* -- remote -- */
	/* -- metrics -- */
	TD_V_METRICS_GET,
	/* -- mfa -- */
	TD_V_MFA_ENROLL,
	TD_V_MFA_CONFIRM,
	TD_V_MFA_RESET,
	TD_V_MFA_LIST,
	TD_V__COUNT
};

enum td_arg_kind {
	TD_ARG_ID,	/* string, [A-Za-z0-9][A-Za-z0-9._-]{0,22} */
	TD_ARG_VM,	/* string, [A-Za-z0-9][A-Za-z0-9._-]{0,63} */
	TD_ARG_BOOL,
	TD_ARG_UINT,	/* integer >= 0 */
	TD_ARG_PRESET,	/* "lrs", "zrs", "grs" */
	TD_ARG_DEVICES,	/* array of 1..TD_MAX_LEGS absolute paths */
	TD_ARG_LEGS,	/* array of 1..TD_MAX_LEGS {class, device[, offset]} */
	/* -- access -- */
	TD_ARG_TEXT,	/* string, 1..TD_TEXT_MAX printable ASCII (reasons) */
	TD_ARG_MODE,	/* "ro" or "rw" */
};

struct td_arg_spec {
	const char *name;
	enum td_arg_kind kind;
	bool required;
};

struct td_verb_info {
	const char *name;
	enum td_verb verb;
	bool mutating;		/* changes state (documentation, CLI) */
	const struct td_arg_spec *args;	/* NULL-name terminated */
};

const struct td_verb_info *td_verb_by_name(const char *name);
const struct td_verb_info *td_verb_info(enum td_verb v);
const char *td_verb_name(enum td_verb v);

struct td_request {
	json_object *root;	/* owns everything below */
	json_object *id;	/* the caller's "id", echoed; may be NULL */
	enum td_verb verb;
	json_object *args;	/* always an object after a successful parse */
	char verb_text[48];	/* printable copy of "verb" for the audit log */
};

/*
 * Parse one request line (without its newline).  On error returns the code,
 * writes a message to @msg, and leaves in @req whatever was understood
 * (id, verb_text) so that the reply echoes the id and the audit record names
 * the verb; td_request_free() is always safe afterwards.
 */
enum td_err td_parse_request(const char *buf, size_t len,
			     struct td_request *req, char *msg, size_t msglen);
void td_request_free(struct td_request *req);

/* Argument getters (after a successful parse: types already checked). */
const char *td_arg_str(const struct td_request *req, const char *name);
bool td_arg_bool(const struct td_request *req, const char *name);
/* Returns @def when absent. */
uint64_t td_arg_uint(const struct td_request *req, const char *name,
		     uint64_t def);
json_object *td_arg(const struct td_request *req, const char *name);

bool td_valid_id(const char *s);
bool td_valid_vm(const char *s);
bool td_valid_class(const char *s);
/* -- access -- */
bool td_valid_text(const char *s);	/* TD_ARG_TEXT */

/* Redundancy presets (Documentation/tenantd.md). */
struct td_preset {
	const char *name;
	unsigned int nlegs;
	const char *classes[TD_MAX_LEGS];
};
const struct td_preset *td_preset_by_name(const char *name);

/* Replies; the caller json_object_put()s them. */
json_object *td_reply_ok(json_object *id, json_object *result);
json_object *td_reply_err(json_object *id, enum td_err e, const char *msg,
			  const char *hint);
/* Serialise a reply as one line with a trailing newline (malloc'd). */
char *td_reply_line(json_object *reply, size_t *len);

/* Build a request line for a verb (tenantctl); takes @args. */
char *td_request_line(const char *verb, json_object *args, size_t *len);

#endif /* TD_PROTO_H */
