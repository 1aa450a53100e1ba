// SPDX-License-Identifier: GPL-2.0
/*
 * tenantd protocol: request parsing and validation, replies, verb table.
 * See proto.h and Documentation/tenantd-protocol.md.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

static const struct {
	const char *name;
	int exit_code;
} td_errs[TD_E__COUNT] = {
	[TD_OK]			= { "ok", 0 },
	[TD_E_BAD_REQUEST]	= { "bad-request", 1 },
	[TD_E_TOO_LARGE]	= { "too-large", 1 },
	[TD_E_UNKNOWN_VERB]	= { "unknown-verb", 1 },
	[TD_E_INVALID_ARGUMENT]	= { "invalid-argument", 2 },
	[TD_E_DENIED]		= { "denied", 3 },
	[TD_E_NOT_FOUND]	= { "not-found", 4 },
	[TD_E_CONFLICT]		= { "conflict", 5 },
	[TD_E_UNSUPPORTED]	= { "unsupported", 6 },
	[TD_E_TIMEOUT]		= { "timeout", 1 },
	[TD_E_BUSY]		= { "busy", 7 },
	[TD_E_INTERNAL]		= { "internal", 1 },
	/* -- mfa -- */
	[TD_E_CODE_REQUIRED]	= { "code-required", 3 },
};

const char *td_err_name(enum td_err e)
{
	if ((unsigned int)e >= TD_E__COUNT)
		return "internal";
	return td_errs[e].name;
}

enum td_err td_err_from_name(const char *name)
{
	unsigned int i;

	for (i = 0; name && i < TD_E__COUNT; i++)
		if (!strcmp(td_errs[i].name, name))
			return i;
	return TD_E_INTERNAL;
}

int td_err_exit_code(enum td_err e)
{
	if ((unsigned int)e >= TD_E__COUNT)
		return 1;
	return td_errs[e].exit_code;
}

/* --- verb table ------------------------------------------------------- */

#define A_TENANT	{ "tenant", TD_ARG_ID, true }
#define A_VOLUME	{ "volume", TD_ARG_ID, true }
#define A_END		{ NULL, 0, false }

static const struct td_arg_spec a_none[] = { A_END };
static const struct td_arg_spec a_tenant[] = { A_TENANT, A_END };
/* wipe: the wipe arguments of volume.delete / tenant.delete */
#define A_WIPE	{ "wipe", TD_ARG_ID, false }, { "passes", TD_ARG_UINT, false }, \
		{ "verify", TD_ARG_ID, false }, { "rate", TD_ARG_UINT, false }
/* -- mfa -- the one-time code of the verbs listed in mfa-required */
#define A_CODE	{ "code", TD_ARG_TEXT, false }
static const struct td_arg_spec a_tenant_delete[] = {
	A_TENANT, { "force", TD_ARG_BOOL, false }, A_WIPE, A_CODE, A_END };
static const struct td_arg_spec a_volume_delete[] = {
	A_TENANT, A_VOLUME, A_WIPE, A_END };
static const struct td_arg_spec a_wipe_status[] = {
	{ "tenant", TD_ARG_ID, false }, { "job", TD_ARG_UINT, false }, A_END };
static const struct td_arg_spec a_tenant_audit_export[] = {
	A_TENANT, { "after", TD_ARG_UINT, false },
	{ "limit", TD_ARG_UINT, false }, A_END };
static const struct td_arg_spec a_volume_create[] = {
	A_TENANT, A_VOLUME,
	{ "legs", TD_ARG_LEGS, false },
	{ "preset", TD_ARG_PRESET, false },
	{ "devices", TD_ARG_DEVICES, false },
	{ "size", TD_ARG_UINT, false },
	{ "vm", TD_ARG_VM, false },
	A_END };
static const struct td_arg_spec a_volume_list[] = {
	{ "tenant", TD_ARG_ID, false }, A_END };
static const struct td_arg_spec a_volume[] = { A_TENANT, A_VOLUME, A_END };
static const struct td_arg_spec a_volume_assign[] = {
	A_TENANT, A_VOLUME, { "vm", TD_ARG_VM, true }, A_END };
static const struct td_arg_spec a_volume_attach[] = {
	A_TENANT, A_VOLUME, { "vm", TD_ARG_VM, false }, A_END };
static const struct td_arg_spec a_leg[] = {
	A_TENANT, A_VOLUME, { "leg", TD_ARG_UINT, true }, A_END };
static const struct td_arg_spec a_leg_recover[] = {
	A_TENANT, A_VOLUME, { "leg", TD_ARG_UINT, true },
	{ "force", TD_ARG_BOOL, false }, A_END };
/* -- udev -- */
static const struct td_arg_spec a_leg_report[] = {
	{ "devices", TD_ARG_DEVICES, true }, A_END };
static const struct td_arg_spec a_volume_auto[] = {
	A_TENANT, A_VOLUME, { "auto", TD_ARG_BOOL, true }, A_END };
static const struct td_arg_spec a_audit_export[] = {
	{ "after", TD_ARG_UINT, false }, { "limit", TD_ARG_UINT, false },
	A_END };

/* -- access -- */
#define A_GRANT		{ "id", TD_ARG_UINT, true }
static const struct td_arg_spec a_access_request[] = {
	A_TENANT, A_VOLUME, { "reason", TD_ARG_TEXT, true },
	{ "duration", TD_ARG_UINT, true }, { "mode", TD_ARG_MODE, false },
	A_END };
static const struct td_arg_spec a_access_approve[] = {
	A_GRANT, { "mode", TD_ARG_MODE, false },
	{ "note", TD_ARG_TEXT, false }, A_CODE, A_END };
static const struct td_arg_spec a_access_note[] = {
	A_GRANT, { "note", TD_ARG_TEXT, false }, A_END };
static const struct td_arg_spec a_access_deny[] = {
	A_GRANT, { "note", TD_ARG_TEXT, false }, A_CODE, A_END };
static const struct td_arg_spec a_access_open[] = {
	A_GRANT, { "mode", TD_ARG_MODE, false }, A_CODE, A_END };
static const struct td_arg_spec a_access_close[] = { A_GRANT, A_END };
static const struct td_arg_spec a_access_list[] = {
	{ "tenant", TD_ARG_ID, false }, { "all", TD_ARG_BOOL, false },
	A_END };

/* -- mfa -- */
static const struct td_arg_spec a_volume_export[] = {
	A_TENANT, A_VOLUME, A_CODE, A_END };
static const struct td_arg_spec a_mfa_enroll[] = {
	{ "algorithm", TD_ARG_ID, false }, { "digits", TD_ARG_UINT, false },
	A_CODE, A_END };
/* the code is checked by the handler: missing is "code-required" */
static const struct td_arg_spec a_mfa_confirm[] = { A_CODE, A_END };
static const struct td_arg_spec a_mfa_reset[] = {
	{ "uid", TD_ARG_UINT, true }, A_END };

static const struct td_verb_info td_verbs[TD_V__COUNT] = {
	{ "tenant.create", TD_V_TENANT_CREATE, true, a_tenant },
	{ "tenant.list", TD_V_TENANT_LIST, false, a_none },
	{ "tenant.delete", TD_V_TENANT_DELETE, true, a_tenant_delete },
	{ "tenant.rotate-kek", TD_V_TENANT_ROTATE_KEK, true, a_tenant },
	{ "volume.create", TD_V_VOLUME_CREATE, true, a_volume_create },
	{ "volume.list", TD_V_VOLUME_LIST, false, a_volume_list },
	{ "volume.status", TD_V_VOLUME_STATUS, false, a_volume },
	{ "volume.assign", TD_V_VOLUME_ASSIGN, true, a_volume_assign },
	{ "volume.attach", TD_V_VOLUME_ATTACH, true, a_volume_attach },
	{ "volume.detach", TD_V_VOLUME_DETACH, true, a_volume },
	{ "volume.delete", TD_V_VOLUME_DELETE, true, a_volume_delete },
	{ "leg.fail", TD_V_LEG_FAIL, true, a_leg },
	{ "leg.recover", TD_V_LEG_RECOVER, true, a_leg_recover },
	{ "audit.export", TD_V_AUDIT_EXPORT, false, a_audit_export },
	{ "audit.verify", TD_V_AUDIT_VERIFY, false, a_none },
	/* -- access -- */
	{ "access.request", TD_V_ACCESS_REQUEST, true, a_access_request },
	{ "access.approve", TD_V_ACCESS_APPROVE, true, a_access_approve },
	{ "access.deny", TD_V_ACCESS_DENY, true, a_access_deny },
	{ "access.open", TD_V_ACCESS_OPEN, true, a_access_open },
	{ "access.close", TD_V_ACCESS_CLOSE, true, a_access_close },
	{ "access.revoke", TD_V_ACCESS_REVOKE, true, a_access_note },
	{ "access.list", TD_V_ACCESS_LIST, false, a_access_list },
	/* -- wipe -- */
	{ "wipe.status", TD_V_WIPE_STATUS, false, a_wipe_status },
	{ "tenant.audit-export", TD_V_TENANT_AUDIT_EXPORT, false,
	  a_tenant_audit_export },
	{ "volume.export", TD_V_VOLUME_EXPORT, false, a_volume_export },
	/* -- udev -- */
	{ "leg.seen", TD_V_LEG_SEEN, true, a_leg_report },
	{ "leg.gone", TD_V_LEG_GONE, true, a_leg_report },
	{ "volume.auto", TD_V_VOLUME_AUTO, true, a_volume_auto },
	/* -- remote -- */
	/* -- metrics -- */
	{ "metrics.get", TD_V_METRICS_GET, false, a_none },
	/* -- mfa -- */
	{ "mfa.enroll", TD_V_MFA_ENROLL, true, a_mfa_enroll },
	{ "mfa.confirm", TD_V_MFA_CONFIRM, true, a_mfa_confirm },
	{ "mfa.reset", TD_V_MFA_RESET, true, a_mfa_reset },
	{ "mfa.list", TD_V_MFA_LIST, false, a_none },
};

const struct td_verb_info *td_verb_by_name(const char *name)
{
	unsigned int i;

	for (i = 0; name && i < TD_V__COUNT; i++)
		if (td_verb_info(i) && !strcmp(td_verbs[i].name, name))
			return &td_verbs[i];
	return NULL;
}

/* A row left out of td_verbs[] (or out of place) is no verb. */
const struct td_verb_info *td_verb_info(enum td_verb v)
{
	if ((unsigned int)v >= TD_V__COUNT || !td_verbs[v].name ||
	    td_verbs[v].verb != v)
		return NULL;
	return &td_verbs[v];
}

const char *td_verb_name(enum td_verb v)
{
	const struct td_verb_info *vi = td_verb_info(v);

	return vi ? vi->name : "?";
}

/* --- value checks ----------------------------------------------------- */

static bool valid_name(const char *s, size_t max)
{
	size_t i, n;

	if (!s)
		return false;
	n = strlen(s);
	if (n < 1 || n > max || !isalnum((unsigned char)s[0]))
		return false;
	for (i = 0; i < n; i++) {
		unsigned char c = s[i];

		if (!(c < 0x80 && (isalnum(c) || c == '.' || c == '_' ||
				   c == '-')))
			return false;
	}
	return true;
}

bool td_valid_id(const char *s)
{
	return valid_name(s, TD_ID_MAX);
}

bool td_valid_vm(const char *s)
{
	return valid_name(s, TD_VM_MAX);
}

bool td_valid_class(const char *s)
{
	return s && (!strcmp(s, "local") || !strcmp(s, "zone") ||
		     !strcmp(s, "remote"));
}

static bool valid_path(const char *s)
{
	size_t i, n;

	if (!s)
		return false;
	n = strlen(s);
	if (n < 2 || n > TD_PATH_MAX || s[0] != '/')
		return false;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f)
			return false;
	if (strstr(s, "/../") || (n >= 3 && !strcmp(s + n - 3, "/..")))
		return false;
	return true;
}

/* -- access -- */
bool td_valid_text(const char *s)
{
	size_t i, n;

	if (!s)
		return false;
	n = strlen(s);
	if (n < 1 || n > TD_TEXT_MAX)
		return false;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < ' ' || (unsigned char)s[i] >= 0x7f)
			return false;
	return true;
}

static const struct td_preset td_presets[] = {
	{ "lrs", 3, { "local", "local", "local" } },
	{ "zrs", 3, { "local", "zone", "zone" } },
	{ "grs", 6, { "local", "local", "local",
		      "remote", "remote", "remote" } },
};

const struct td_preset *td_preset_by_name(const char *name)
{
	size_t i;

	for (i = 0; name && i < sizeof(td_presets) / sizeof(td_presets[0]);
	     i++)
		if (!strcmp(td_presets[i].name, name))
			return &td_presets[i];
	return NULL;
}

/* --- parsing ---------------------------------------------------------- */

static void printable_copy(char *dst, size_t size, const char *src)
{
	size_t i;

	for (i = 0; src[i] && i + 1 < size; i++)
		dst[i] = (src[i] > ' ' && src[i] < 0x7f) ? src[i] : '?';
	dst[i] = '\0';
}

#define FAIL(code, ...) do {					\
		snprintf(msg, msglen, __VA_ARGS__);		\
		return (code);					\
	} while (0)

static enum td_err check_legs(json_object *v, const char *name, char *msg,
			      size_t msglen)
{
	size_t i, n;

	if (!json_object_is_type(v, json_type_array))
		FAIL(TD_E_INVALID_ARGUMENT, "argument '%s' must be an array",
		     name);
	n = json_object_array_length(v);
	if (n < 1 || n > TD_MAX_LEGS)
		FAIL(TD_E_INVALID_ARGUMENT,
		     "argument '%s' must have 1 to %d legs", name, TD_MAX_LEGS);
	for (i = 0; i < n; i++) {
		json_object *leg = json_object_array_get_idx(v, i), *f;

		if (!json_object_is_type(leg, json_type_object))
			FAIL(TD_E_INVALID_ARGUMENT,
			     "leg %zu must be an object {class, device[, offset]}",
			     i);
		json_object_object_foreach(leg, key, val) {
			if (!strcmp(key, "class")) {
				if (!json_object_is_type(val, json_type_string) ||
				    !td_valid_class(json_object_get_string(val)))
					FAIL(TD_E_INVALID_ARGUMENT,
					     "leg %zu: class must be local, zone or remote",
					     i);
			} else if (!strcmp(key, "device")) {
				if (!json_object_is_type(val, json_type_string) ||
				    !valid_path(json_object_get_string(val)))
					FAIL(TD_E_INVALID_ARGUMENT,
					     "leg %zu: device must be an absolute path",
					     i);
			} else if (!strcmp(key, "offset")) {
				if (!json_object_is_type(val, json_type_int) ||
				    json_object_get_int64(val) < 0)
					FAIL(TD_E_INVALID_ARGUMENT,
					     "leg %zu: offset must be an integer >= 0 (512-byte sectors)",
					     i);
			} else {
				FAIL(TD_E_INVALID_ARGUMENT,
				     "leg %zu: unknown field", i);
			}
		}
		if (!json_object_object_get_ex(leg, "class", &f) ||
		    !json_object_object_get_ex(leg, "device", &f))
			FAIL(TD_E_INVALID_ARGUMENT,
			     "leg %zu needs class and device", i);
	}
	return TD_OK;
}

static enum td_err check_arg(const struct td_arg_spec *a, json_object *v,
			     char *msg, size_t msglen)
{
	size_t i, n;

	switch (a->kind) {
	case TD_ARG_ID:
		if (!json_object_is_type(v, json_type_string) ||
		    !td_valid_id(json_object_get_string(v)))
			FAIL(TD_E_INVALID_ARGUMENT,
			     "argument '%s' must be 1-%d characters of A-Za-z0-9._- starting with a letter or digit",
			     a->name, TD_ID_MAX);
		break;
	case TD_ARG_VM:
		if (!json_object_is_type(v, json_type_string) ||
		    !td_valid_vm(json_object_get_string(v)))
			FAIL(TD_E_INVALID_ARGUMENT,
			     "argument '%s' must be 1-%d characters of A-Za-z0-9._- starting with a letter or digit",
			     a->name, TD_VM_MAX);
		break;
	case TD_ARG_BOOL:
		if (!json_object_is_type(v, json_type_boolean))
			FAIL(TD_E_INVALID_ARGUMENT,
			     "argument '%s' must be true or false", a->name);
		break;
	case TD_ARG_UINT:
		if (!json_object_is_type(v, json_type_int) ||
		    json_object_get_int64(v) < 0)
			FAIL(TD_E_INVALID_ARGUMENT,
			     "argument '%s' must be an integer >= 0", a->name);
		break;
	case TD_ARG_PRESET:
		if (!json_object_is_type(v, json_type_string) ||
		    !td_preset_by_name(json_object_get_string(v)))
			FAIL(TD_E_INVALID_ARGUMENT,
			     "argument '%s' must be lrs, zrs or grs", a->name);
		break;
	case TD_ARG_DEVICES:
		if (!json_object_is_type(v, json_type_array))
			FAIL(TD_E_INVALID_ARGUMENT,
			     "argument '%s' must be an array of device paths",
			     a->name);
		n = json_object_array_length(v);
		if (n < 1 || n > TD_MAX_LEGS)
			FAIL(TD_E_INVALID_ARGUMENT,
			     "argument '%s' must have 1 to %d devices",
			     a->name, TD_MAX_LEGS);
		for (i = 0; i < n; i++) {
			json_object *d = json_object_array_get_idx(v, i);

			if (!json_object_is_type(d, json_type_string) ||
			    !valid_path(json_object_get_string(d)))
				FAIL(TD_E_INVALID_ARGUMENT,
				     "device %zu must be an absolute path", i);
		}
		break;
	case TD_ARG_LEGS:
		return check_legs(v, a->name, msg, msglen);
	/* -- access -- */
	case TD_ARG_TEXT:
		if (!json_object_is_type(v, json_type_string) ||
		    !td_valid_text(json_object_get_string(v)))
			FAIL(TD_E_INVALID_ARGUMENT,
			     "argument '%s' must be 1-%d printable ASCII characters",
			     a->name, TD_TEXT_MAX);
		break;
	case TD_ARG_MODE:
		if (!json_object_is_type(v, json_type_string) ||
		    (strcmp(json_object_get_string(v), "ro") &&
		     strcmp(json_object_get_string(v), "rw")))
			FAIL(TD_E_INVALID_ARGUMENT,
			     "argument '%s' must be ro or rw", a->name);
		break;
	}
	return TD_OK;
}

static enum td_err check_args(const struct td_verb_info *vi,
			      json_object *args, char *msg, size_t msglen)
{
	const struct td_arg_spec *a;
	json_object *v;
	enum td_err e;

	json_object_object_foreach(args, key, val) {
		(void)val;
		for (a = vi->args; a->name; a++)
			if (!strcmp(a->name, key))
				break;
		if (!a->name) {
			char k[32];

			printable_copy(k, sizeof(k), key);
			FAIL(TD_E_INVALID_ARGUMENT,
			     "unknown argument '%s' for %s", k, vi->name);
		}
	}
	for (a = vi->args; a->name; a++) {
		if (!json_object_object_get_ex(args, a->name, &v)) {
			if (a->required)
				FAIL(TD_E_INVALID_ARGUMENT,
				     "missing argument '%s' for %s", a->name,
				     vi->name);
			continue;
		}
		e = check_arg(a, v, msg, msglen);
		if (e)
			return e;
	}
	/* Cross-argument rules. */
	if (vi->verb == TD_V_VOLUME_CREATE) {
		bool legs = json_object_object_get_ex(args, "legs", NULL);
		bool preset = json_object_object_get_ex(args, "preset", &v);
		json_object *devs;
		bool have_devs = json_object_object_get_ex(args, "devices",
							   &devs);

		if (legs == preset)
			FAIL(TD_E_INVALID_ARGUMENT,
			     "volume.create needs either 'legs' or 'preset' with 'devices'");
		if (preset != have_devs)
			FAIL(TD_E_INVALID_ARGUMENT,
			     "'preset' and 'devices' go together");
		if (preset) {
			const struct td_preset *p =
				td_preset_by_name(json_object_get_string(v));

			if (json_object_array_length(devs) != p->nlegs)
				FAIL(TD_E_INVALID_ARGUMENT,
				     "preset %s needs exactly %u devices",
				     p->name, p->nlegs);
		}
	}
	return TD_OK;
}

enum td_err td_parse_request(const char *buf, size_t len,
			     struct td_request *req, char *msg, size_t msglen)
{
	struct json_tokener *tok;
	enum json_tokener_error jerr;
	const struct td_verb_info *vi;
	json_object *root, *verb = NULL;
	size_t used;

	memset(req, 0, sizeof(*req));
	req->verb = TD_V__COUNT;
	strcpy(req->verb_text, "-");
	if (len > TD_MAX_REQUEST)
		FAIL(TD_E_TOO_LARGE, "request larger than %d bytes",
		     TD_MAX_REQUEST);
	if (memchr(buf, '\0', len))
		FAIL(TD_E_BAD_REQUEST, "request contains a NUL byte");
	while (len && (buf[len - 1] == '\r' || buf[len - 1] == ' ' ||
		       buf[len - 1] == '\t'))
		len--;
	if (!len)
		FAIL(TD_E_BAD_REQUEST, "empty request");

	tok = json_tokener_new_ex(16);
	if (!tok)
		FAIL(TD_E_INTERNAL, "out of memory");
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
				    JSON_TOKENER_VALIDATE_UTF8);
	root = json_tokener_parse_ex(tok, buf, (int)len);
	jerr = json_tokener_get_error(tok);
	used = json_tokener_get_parse_end(tok);
	if (jerr == json_tokener_continue && !root) {
		/* The line ended: a blank ends a bare number ("42"); anything
		 * else still incomplete is a truncated request. */
		root = json_tokener_parse_ex(tok, " ", 1);
		jerr = json_tokener_get_error(tok);
		if (root)
			used = len;
	}
	json_tokener_free(tok);
	if (jerr == json_tokener_continue) {
		json_object_put(root);
		FAIL(TD_E_BAD_REQUEST, "truncated JSON request");
	}
	if (jerr != json_tokener_success || !root) {
		json_object_put(root);
		FAIL(TD_E_BAD_REQUEST, "malformed JSON: %s",
		     json_tokener_error_desc(jerr));
	}
	if (used != len) {
		json_object_put(root);
		FAIL(TD_E_BAD_REQUEST,
		     "trailing data after the JSON request (one request per line)");
	}
	req->root = root;
	if (!json_object_is_type(root, json_type_object))
		FAIL(TD_E_BAD_REQUEST, "request must be a JSON object");

	/* Echo the id even when something else is wrong. */
	json_object_object_foreach(root, key, val) {
		if (!strcmp(key, "id")) {
			if (json_object_is_type(val, json_type_string) ||
			    json_object_is_type(val, json_type_int))
				req->id = val;
		}
	}
	json_object_object_foreach(root, key2, val2) {
		if (!strcmp(key2, "id")) {
			if (!req->id)
				FAIL(TD_E_BAD_REQUEST,
				     "'id' must be a string or an integer");
		} else if (!strcmp(key2, "v")) {
			if (!json_object_is_type(val2, json_type_int) ||
			    json_object_get_int64(val2) != TD_PROTO_VERSION)
				FAIL(TD_E_BAD_REQUEST,
				     "unsupported protocol version (this daemon speaks v=%d)",
				     TD_PROTO_VERSION);
		} else if (!strcmp(key2, "verb")) {
			verb = val2;
		} else if (!strcmp(key2, "args")) {
			req->args = val2;
		} else {
			char k[32];

			printable_copy(k, sizeof(k), key2);
			FAIL(TD_E_BAD_REQUEST,
			     "unknown request field '%s' (expected v, id, verb, args)",
			     k);
		}
	}
	if (!verb)
		FAIL(TD_E_BAD_REQUEST, "request has no 'verb'");
	if (!json_object_is_type(verb, json_type_string))
		FAIL(TD_E_BAD_REQUEST, "'verb' must be a string");
	printable_copy(req->verb_text, sizeof(req->verb_text),
		       json_object_get_string(verb));
	vi = td_verb_by_name(json_object_get_string(verb));
	if (!vi)
		FAIL(TD_E_UNKNOWN_VERB, "unknown verb '%s'", req->verb_text);
	req->verb = vi->verb;
	if (!req->args) {
		req->args = json_object_new_object();
		if (!req->args)
			FAIL(TD_E_INTERNAL, "out of memory");
		json_object_object_add(root, "args", req->args);
	} else if (!json_object_is_type(req->args, json_type_object)) {
		FAIL(TD_E_BAD_REQUEST, "'args' must be an object");
	}
	return check_args(vi, req->args, msg, msglen);
}

void td_request_free(struct td_request *req)
{
	json_object_put(req->root);
	memset(req, 0, sizeof(*req));
}

json_object *td_arg(const struct td_request *req, const char *name)
{
	json_object *v;

	if (!req->args || !json_object_object_get_ex(req->args, name, &v))
		return NULL;
	return v;
}

const char *td_arg_str(const struct td_request *req, const char *name)
{
	json_object *v = td_arg(req, name);

	return json_object_is_type(v, json_type_string) ?
		json_object_get_string(v) : NULL;
}

bool td_arg_bool(const struct td_request *req, const char *name)
{
	json_object *v = td_arg(req, name);

	return json_object_is_type(v, json_type_boolean) &&
		json_object_get_boolean(v);
}

uint64_t td_arg_uint(const struct td_request *req, const char *name,
		     uint64_t def)
{
	json_object *v = td_arg(req, name);

	if (!json_object_is_type(v, json_type_int))
		return def;
	return (uint64_t)json_object_get_int64(v);
}

/* --- replies ---------------------------------------------------------- */

json_object *td_reply_ok(json_object *id, json_object *result)
{
	json_object *r = json_object_new_object();

	if (id)
		json_object_object_add(r, "id", json_object_get(id));
	json_object_object_add(r, "ok", json_object_new_boolean(1));
	json_object_object_add(r, "result",
			       result ? result : json_object_new_object());
	return r;
}

json_object *td_reply_err(json_object *id, enum td_err e, const char *msg,
			  const char *hint)
{
	json_object *r = json_object_new_object(), *err;

	if (id)
		json_object_object_add(r, "id", json_object_get(id));
	json_object_object_add(r, "ok", json_object_new_boolean(0));
	err = json_object_new_object();
	json_object_object_add(err, "code",
			       json_object_new_string(td_err_name(e)));
	json_object_object_add(err, "message",
			       json_object_new_string(msg ? msg : ""));
	if (hint && *hint)
		json_object_object_add(err, "hint",
				       json_object_new_string(hint));
	json_object_object_add(r, "error", err);
	return r;
}

static char *line_of(json_object *o, size_t *len)
{
	const char *s = json_object_to_json_string_ext(o,
			JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	size_t n = strlen(s);
	char *out = malloc(n + 2);

	if (!out)
		return NULL;
	memcpy(out, s, n);
	out[n] = '\n';
	out[n + 1] = '\0';
	if (len)
		*len = n + 1;
	return out;
}

char *td_reply_line(json_object *reply, size_t *len)
{
	return line_of(reply, len);
}

char *td_request_line(const char *verb, json_object *args, size_t *len)
{
	json_object *r = json_object_new_object();
	char *line;

	json_object_object_add(r, "v", json_object_new_int(TD_PROTO_VERSION));
	json_object_object_add(r, "verb", json_object_new_string(verb));
	json_object_object_add(r, "args",
			       args ? args : json_object_new_object());
	line = line_of(r, len);
	json_object_put(r);
	return line;
}
