// SPDX-License-Identifier: GPL-2.0
/*
 * tenantctl mfa ...: the second factor (Documentation/jit-access.md).
 *
 *   mfa enroll [--algorithm sha1|sha256] [--digits 6|8]
 *   mfa confirm
 *   mfa reset UID
 *   mfa list
 *
 * And the one-time code of any verb tenantd answers with "code-required":
 * tc_mfa_code() asks for it on the terminal, or reads it from standard
 * input, or takes --code (visible to ps(1) while tenantctl runs: prefer
 * the other two).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <qrencode.h>

#include "../daemon/proto.h"
#include "tenantctl.h"

const char *tc_opt_code;

/* One line from @f without its newline and surrounding blanks. */
static int read_line(FILE *f, char *buf, size_t len)
{
	size_t n;
	char *p;

	if (!fgets(buf, (int)len, f))
		return -ENODATA;
	n = strcspn(buf, "\r\n");
	buf[n] = '\0';
	for (p = buf; *p == ' ' || *p == '\t'; p++)
		;
	memmove(buf, p, strlen(p) + 1);
	n = strlen(buf);
	while (n && (buf[n - 1] == ' ' || buf[n - 1] == '\t'))
		buf[--n] = '\0';
	return 0;
}

/* Prompt on the controlling terminal, echo off. */
static int prompt_tty(const char *what, char *buf, size_t len)
{
	struct termios old, quiet;
	FILE *tty = fopen("/dev/tty", "r+e");
	bool restore;
	int r;

	if (!tty)
		return -errno;
	fprintf(tty, "One-time code for %s: ", what);
	fflush(tty);
	restore = tcgetattr(fileno(tty), &old) == 0;
	if (restore) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(fileno(tty), TCSAFLUSH, &quiet);
	}
	r = read_line(tty, buf, len);
	if (restore)
		tcsetattr(fileno(tty), TCSAFLUSH, &old);
	fprintf(tty, "\n");
	fclose(tty);
	return r;
}

int tc_mfa_code(const char *what, char *buf, size_t len)
{
	if (tc_opt_code && strcmp(tc_opt_code, "-")) {
		snprintf(buf, len, "%s", tc_opt_code);
		return 0;
	}
	if (!tc_opt_code && isatty(STDIN_FILENO))
		return prompt_tty(what, buf, len);
	if (read_line(stdin, buf, len) || !buf[0]) {
		fprintf(stderr, "tenantctl: %s needs a one-time code and standard input has none\n"
			"  hint: run it on a terminal, or give the code on standard input (echo CODE | tenantctl ...)\n",
			what);
		return -ENODATA;
	}
	return 0;
}

static bool code_required(json_object *reply)
{
	json_object *err, *code;

	return json_object_object_get_ex(reply, "error", &err) &&
		json_object_object_get_ex(err, "code", &code) &&
		!strcmp(json_object_get_string(code), "code-required");
}

static int add_code(const char *verb, json_object *args)
{
	char code[32];
	int r = tc_mfa_code(verb, code, sizeof(code));

	if (!r)
		json_object_object_add(args, "code",
				       json_object_new_string(code));
	explicit_bzero(code, sizeof(code));
	return r;
}

int tc_call_coded(const char *verb, json_object *args, json_object **reply)
{
	bool asked = false;
	int r;

	if (args && tc_opt_code &&
	    !json_object_object_get_ex(args, "code", NULL)) {
		asked = true;
		add_code(verb, args);
	}
	r = tc_call(verb, args ? json_object_get(args) : NULL, reply);
	if (!r && args && !asked && code_required(*reply) &&
	    !add_code(verb, args)) {
		json_object_put(*reply);
		r = tc_call(verb, json_object_get(args), reply);
	}
	json_object_put(args);
	return r;
}

/* --- QR code ------------------------------------------------------------- */

/*
 * Two module rows per text line with half blocks, light modules drawn
 * (white on a dark terminal), a quiet zone of two modules.
 */
static void print_qr(const char *text, FILE *f)
{
	static const char *const cell[4] = { "\u2588", "\u2580", "\u2584", " " };
	QRcode *qr = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	int x, y, w, q = 2;

	if (!qr)
		return;
	w = qr->width;
	for (y = -q; y < w + q; y += 2) {
		for (x = -q; x < w + q; x++) {
			bool top = y >= 0 && y < w && x >= 0 && x < w &&
				(qr->data[y * w + x] & 1);
			bool bot = y + 1 >= 0 && y + 1 < w && x >= 0 && x < w &&
				(qr->data[(y + 1) * w + x] & 1);

			fputs(cell[(top ? 2 : 0) | (bot ? 1 : 0)], f);
		}
		fputc('\n', f);
	}
	QRcode_free(qr);
}

/* --- verbs --------------------------------------------------------------- */

static bool confirm_now;

static int confirm_print(json_object *res, void *arg)
{
	(void)arg;
	printf("enrolment %s is active: tenantd now asks for its codes\n",
	       tc_sget(res, "enrolment"));
	return 0;
}

static int enroll_print(json_object *res, void *arg)
{
	const char *uri = tc_sget(res, "uri");
	bool tty = isatty(STDOUT_FILENO);

	(void)arg;
	printf("enrolment %s for %s (seed wrapped by the %s key provider)\n",
	       tc_sget(res, "enrolment"), tc_sget(res, "account"),
	       strncmp(tc_sget(res, "scope"), "tenant:", 7) ? "host's" :
	       "tenant's");
	printf("Add it to your authenticator; this is the only time it is shown:\n\n");
	if (tty)
		print_qr(uri, stdout);
	printf("%s\n\n", uri);
	printf("Then confirm it with one code within %s s: 'tenantctl mfa confirm'%s\n",
	       tc_sget(res, "confirm_within"),
	       tty ? " (asked for now)" : "");
	fflush(stdout);
	confirm_now = tty && isatty(STDIN_FILENO);
	return 0;
}

int tc_mfa_enroll(const struct tc_verb *v, int argc, char **argv)
{
	const char *alg = NULL, *digits = NULL;
	json_object *a;
	int i, r;

	for (i = 0; i < argc; i++) {
		const char **dst = !strcmp(argv[i], "--algorithm") ? &alg :
			!strcmp(argv[i], "--digits") ? &digits : NULL;

		if (!dst || i + 1 >= argc)
			return tc_usage_err(v, "unexpected '%s'", argv[i]);
		*dst = argv[++i];
	}
	if (alg && strcmp(alg, "sha1") && strcmp(alg, "sha256"))
		return tc_usage_err(v, "--algorithm is sha1 or sha256");
	if (digits && strcmp(digits, "6") && strcmp(digits, "8"))
		return tc_usage_err(v, "--digits is 6 or 8");
	a = json_object_new_object();
	if (alg)
		json_object_object_add(a, "algorithm",
				       json_object_new_string(alg));
	if (digits)
		json_object_object_add(a, "digits",
				       json_object_new_int(atoi(digits)));
	confirm_now = false;
	r = tc_run("mfa.enroll", a, enroll_print, NULL);
	if (r || !confirm_now)
		return r;
	/* the code that was asked for (if any) replaced the old enrolment:
	 * this one confirms the new */
	tc_opt_code = NULL;
	return tc_run("mfa.confirm", json_object_new_object(), confirm_print,
		      NULL);
}

int tc_mfa_confirm(const struct tc_verb *v, int argc, char **argv)
{
	if (argc)
		return tc_usage_err(v, "unexpected '%s'", argv[0]);
	/* the code goes in through the code-required retry of tc_run() */
	return tc_run("mfa.confirm", json_object_new_object(), confirm_print,
		      NULL);
}

static int reset_print(json_object *res, void *arg)
{
	(void)arg;
	printf("uid %s: %s enrolment(s) removed; it enrols again with 'tenantctl mfa enroll'\n",
	       tc_sget(res, "uid"), tc_sget(res, "removed"));
	return 0;
}

int tc_mfa_reset(const struct tc_verb *v, int argc, char **argv)
{
	json_object *a;
	char *end;
	long long uid;

	if (argc != 1 || argv[0][0] < '0' || argv[0][0] > '9')
		return tc_usage_err(v, "expected one UID (a number)");
	errno = 0;
	uid = strtoll(argv[0], &end, 10);
	if (errno || *end || uid < 0)
		return tc_usage_err(v, "expected one UID (a number)");
	a = json_object_new_object();
	json_object_object_add(a, "uid", json_object_new_int64(uid));
	return tc_run("mfa.reset", a, reset_print, NULL);
}

static int list_print(json_object *res, void *arg)
{
	json_object *arr;
	size_t i, n;

	(void)arg;
	json_object_object_get_ex(res, "enrolments", &arr);
	n = json_object_array_length(arr);
	printf("%-5s %-7s %-8s %-22s %-7s %-21s %-21s %s\n", "ID", "UID",
	       "STATE", "SCOPE", "TOTP", "CONFIRMED", "LAST USED",
	       "LOCKED UNTIL");
	for (i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(arr, i);
		char totp[16];

		snprintf(totp, sizeof(totp), "%s/%s", tc_sget(e, "algorithm"),
			 tc_sget(e, "digits"));
		printf("%-5s %-7s %-8s %-22s %-7s %-21s %-21s %s%s\n",
		       tc_sget(e, "enrolment"), tc_sget(e, "uid"),
		       tc_sget(e, "state"), tc_sget(e, "scope"), totp,
		       tc_sget(e, "confirmed"), tc_sget(e, "last_used"),
		       tc_sget(e, "locked_until"),
		       strcmp(tc_sget(e, "readable"), "false") ? "" :
		       "  UNREADABLE: reset it");
	}
	return 0;
}

int tc_mfa_list(const struct tc_verb *v, int argc, char **argv)
{
	if (argc)
		return tc_usage_err(v, "unexpected '%s'", argv[0]);
	return tc_run("mfa.list", json_object_new_object(), list_print, NULL);
}
