// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of udev provisioning and hypervisor attach on the client and
 * protocol side (userspace/cli/tc-udev.c, the udev verbs of proto.c),
 * without a daemon: tc_call() is provided here, records each request and
 * answers from a script of canned replies.
 *   - requests built by volume auto, leg seen|gone, attach, detach;
 *   - usage errors send nothing;
 *   - attach prints the device path, --libvirt a well-formed <disk>
 *     (escaped, serial cut to 20 bytes), the by-tenant link when present;
 *   - detach --vm detaches exactly the attached volumes of that VM and
 *     reports the first failure's exit code;
 *   - the daemon's parser: leg.seen / leg.gone need one "devices" array of
 *     absolute paths; volume.auto needs a JSON boolean.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../userspace/cli/tenantctl.h"
#include "../../userspace/daemon/proto.h"

#define MAX_CALLS 8
static char verbs[MAX_CALLS][64];
static char args[MAX_CALLS][512];
static const char *replies[MAX_CALLS];
static int calls;

int tc_call(const char *verb, json_object *a, json_object **reply)
{
	const char *r = calls < MAX_CALLS ? replies[calls] : NULL;

	if (calls < MAX_CALLS) {
		snprintf(verbs[calls], sizeof(verbs[calls]), "%s", verb);
		snprintf(args[calls], sizeof(args[calls]), "%s",
			 json_object_to_json_string_ext(a,
				JSON_C_TO_STRING_PLAIN |
				JSON_C_TO_STRING_NOSLASHESCAPE));
	}
	calls++;
	json_object_put(a);
	*reply = json_tokener_parse(r ? r : "{\"ok\":true,\"result\":{}}");
	return *reply ? 0 : -EBADMSG;
}

int tc_raw(int in_fd)
{
	(void)in_fd;
	return 1;
}

static char out[8192];

/* tenantctl ARGS... (NULL-terminated); stdout captured into out[]. */
static int tc(const char *first, ...)
{
	char *argv[32];
	int argc = 0, r, fd, saved;
	va_list ap;
	const char *a;
	FILE *f = tmpfile();
	size_t n;

	argv[argc++] = (char *)"tenantctl";
	va_start(ap, first);
	for (a = first; a && argc < 31; a = va_arg(ap, const char *))
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc] = NULL;
	calls = 0;
	memset(verbs, 0, sizeof(verbs));
	memset(args, 0, sizeof(args));
	fflush(stdout);
	fd = fileno(f);
	saved = dup(STDOUT_FILENO);
	dup2(fd, STDOUT_FILENO);
	r = tc_main(argc, argv);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	rewind(f);
	n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = '\0';
	fclose(f);
	return r;
}

static int setup(void **state)
{
	(void)state;
	if (!freopen("/dev/null", "w", stderr))
		return -1;
	return 0;
}

static void test_volume_auto(void **state)
{
	(void)state;
	replies[0] = "{\"ok\":true,\"result\":{\"auto\":true,\"legs_present\":1,\"nr_legs\":3,\"action\":\"recorded\"}}";
	assert_int_equal(tc("volume", "auto", "acme", "vol1", "on", NULL), 0);
	assert_string_equal(verbs[0], "volume.auto");
	assert_string_equal(args[0],
			    "{\"tenant\":\"acme\",\"volume\":\"vol1\",\"auto\":true}");
	assert_non_null(strstr(out, "auto-attach on (1/3 legs present): recorded"));
	replies[0] = NULL;
	assert_int_equal(tc("volume", "auto", "acme", "vol1", "off", NULL), 0);
	assert_string_equal(args[0],
			    "{\"tenant\":\"acme\",\"volume\":\"vol1\",\"auto\":false}");
	/* usage errors send nothing */
	assert_int_equal(tc("volume", "auto", "acme", "vol1", "yes", NULL), 2);
	assert_int_equal(calls, 0);
	assert_int_equal(tc("volume", "auto", "acme", "vol1", NULL), 2);
	assert_int_equal(calls, 0);
}

static void test_leg_report(void **state)
{
	(void)state;
	replies[0] = "{\"ok\":true,\"result\":{\"tenant\":\"acme\",\"volume\":\"v\",\"leg\":1,\"device\":\"/dev/sdb\",\"action\":\"recovering\",\"legs_present\":3,\"nr_legs\":3}}";
	assert_int_equal(tc("leg", "seen", "/dev/sdb", NULL), 0);
	assert_string_equal(verbs[0], "leg.seen");
	assert_string_equal(args[0], "{\"devices\":[\"/dev/sdb\"]}");
	assert_non_null(strstr(out, "acme/v leg 1 (/dev/sdb): recovering, 3/3 legs present"));
	replies[0] = NULL;
	assert_int_equal(tc("leg", "gone", "/dev/sdc", NULL), 0);
	assert_string_equal(verbs[0], "leg.gone");
	assert_int_equal(tc("leg", "seen", "sdb", NULL), 2);
	assert_int_equal(tc("leg", "seen", "/dev/a", "/dev/b", NULL), 2);
	assert_int_equal(calls, 0);
	/* the daemon's refusal comes back as its exit code */
	replies[0] = "{\"ok\":false,\"error\":{\"code\":\"denied\",\"message\":\"root only\"}}";
	assert_int_equal(tc("leg", "seen", "/dev/sdb", NULL), 3);
	replies[0] = "{\"ok\":false,\"error\":{\"code\":\"not-found\",\"message\":\"unknown volume\"}}";
	assert_int_equal(tc("leg", "seen", "/dev/sdb", NULL), 4);
	replies[0] = NULL;
}

static void test_attach(void **state)
{
	(void)state;
	replies[0] = "{\"ok\":true,\"result\":{\"dm_name\":\"tenant+acme+vol1\",\"device\":\"/dev/mapper/tenant+acme+vol1\",\"vm\":\"vm1\",\"owner_uid\":1001}}";
	assert_int_equal(tc("attach", "acme", "vol1", "--vm", "vm1", NULL), 0);
	assert_string_equal(verbs[0], "volume.attach");
	assert_string_equal(args[0],
			    "{\"tenant\":\"acme\",\"volume\":\"vol1\",\"vm\":\"vm1\"}");
	assert_string_equal(out, "/dev/mapper/tenant+acme+vol1\n");

	assert_int_equal(tc("attach", "acme", "vol1", "--libvirt", NULL), 0);
	assert_string_equal(args[0], "{\"tenant\":\"acme\",\"volume\":\"vol1\"}");
	assert_string_equal(out,
		"<disk type='block' device='disk'>\n"
		"  <driver name='qemu' type='raw' cache='none' io='native'/>\n"
		"  <source dev='/dev/mapper/tenant+acme+vol1'/>\n"
		"  <target dev='vdb' bus='virtio'/>\n"
		"  <serial>acme/vol1</serial>\n"
		"</disk>\n");
	assert_int_equal(tc("attach", "acme", "vol1", "--libvirt", "--target",
			    "sdz", NULL), 0);
	assert_non_null(strstr(out, "<target dev='sdz' bus='virtio'/>"));
	replies[0] = NULL;

	/* usage */
	assert_int_equal(tc("attach", "acme", NULL), 2);
	assert_int_equal(tc("attach", "acme", "vol1", "--bogus", NULL), 2);
	assert_int_equal(tc("attach", "acme", "vol1", "--vm", "bad/vm", NULL), 2);
	assert_int_equal(calls, 0);
	assert_int_equal(tc("attach", "--help", NULL), 0);
	assert_int_equal(calls, 0);
}

static void test_libvirt_escape(void **state)
{
	char buf[1024];
	FILE *f = fmemopen(buf, sizeof(buf), "w");

	(void)state;
	tc_libvirt_disk(f, "averyveryverylongtenant", "volume", "/dev/x'<&>\"",
			"vdb");
	fclose(f);
	assert_non_null(strstr(buf, "<source dev='/dev/x&apos;&lt;&amp;&gt;&quot;'/>"));
	/* virtio-blk serials are at most 20 bytes */
	assert_non_null(strstr(buf, "<serial>averyveryverylongten</serial>"));
}

static void test_detach_vm(void **state)
{
	(void)state;
	replies[0] = "{\"ok\":true,\"result\":{\"volumes\":["
		"{\"tenant\":\"acme\",\"volume\":\"a\",\"vm\":\"vm1\",\"attached\":true},"
		"{\"tenant\":\"acme\",\"volume\":\"b\",\"vm\":\"vm1\",\"attached\":false},"
		"{\"tenant\":\"acme\",\"volume\":\"c\",\"vm\":\"vm2\",\"attached\":true},"
		"{\"tenant\":\"beta\",\"volume\":\"d\",\"vm\":\"vm1\",\"attached\":true},"
		"{\"tenant\":\"beta\",\"volume\":\"e\",\"vm\":null,\"attached\":true}]}}";
	replies[1] = "{\"ok\":true,\"result\":{\"dm_name\":\"tenant+acme+a\"}}";
	replies[2] = "{\"ok\":false,\"error\":{\"code\":\"conflict\",\"message\":\"in use\"}}";
	assert_int_equal(tc("detach", "--vm", "vm1", NULL), 5);
	assert_int_equal(calls, 3);
	assert_string_equal(verbs[0], "volume.list");
	assert_string_equal(verbs[1], "volume.detach");
	assert_string_equal(args[1], "{\"tenant\":\"acme\",\"volume\":\"a\"}");
	assert_string_equal(verbs[2], "volume.detach");
	assert_string_equal(args[2], "{\"tenant\":\"beta\",\"volume\":\"d\"}");
	replies[1] = replies[2] = NULL;

	replies[0] = "{\"ok\":true,\"result\":{\"volumes\":[]}}";
	assert_int_equal(tc("detach", "--vm", "vm9", NULL), 0);
	assert_int_equal(calls, 1);
	assert_non_null(strstr(out, "no attached volume of VM vm9"));

	/* A reply without a volume array is an error, not a crash and
	 * not "nothing to detach". */
	replies[0] = "{\"ok\":true,\"result\":{\"volumes\":\"none\"}}";
	assert_int_equal(tc("detach", "--vm", "vm1", NULL), 1);
	assert_int_equal(calls, 1);
	replies[0] = "{\"ok\":true,\"result\":{}}";
	assert_int_equal(tc("detach", "--vm", "vm1", NULL), 1);
	assert_int_equal(calls, 1);

	replies[0] = NULL;
	assert_int_equal(tc("detach", "acme", "a", NULL), 0);
	assert_string_equal(verbs[0], "volume.detach");
	assert_int_equal(tc("detach", "--vm", NULL), 2);
	assert_int_equal(tc("detach", "acme", NULL), 2);
	assert_int_equal(calls, 0);
}

static enum td_err parse(const char *line)
{
	struct td_request req;
	char msg[256];
	enum td_err e = td_parse_request(line, strlen(line), &req, msg,
					 sizeof(msg));

	td_request_free(&req);
	return e;
}

static void test_proto(void **state)
{
	(void)state;
	assert_int_equal(parse("{\"verb\":\"leg.seen\",\"args\":{\"devices\":[\"/dev/sdb\"]}}"), TD_OK);
	assert_int_equal(parse("{\"verb\":\"leg.gone\",\"args\":{\"devices\":[\"/dev/sdb\"]}}"), TD_OK);
	assert_int_equal(parse("{\"verb\":\"leg.seen\",\"args\":{}}"),
			 TD_E_INVALID_ARGUMENT);
	assert_int_equal(parse("{\"verb\":\"leg.seen\",\"args\":{\"devices\":\"/dev/sdb\"}}"),
			 TD_E_INVALID_ARGUMENT);
	assert_int_equal(parse("{\"verb\":\"leg.seen\",\"args\":{\"devices\":[\"sdb\"]}}"),
			 TD_E_INVALID_ARGUMENT);
	assert_int_equal(parse("{\"verb\":\"leg.gone\",\"args\":{\"devices\":[\"/dev/../etc/x\"]}}"),
			 TD_E_INVALID_ARGUMENT);
	assert_int_equal(parse("{\"verb\":\"leg.seen\",\"args\":{\"devices\":[\"/dev/sdb\"],\"tenant\":\"a\"}}"),
			 TD_E_INVALID_ARGUMENT);
	assert_int_equal(parse("{\"verb\":\"volume.auto\",\"args\":{\"tenant\":\"a\",\"volume\":\"b\",\"auto\":true}}"), TD_OK);
	assert_int_equal(parse("{\"verb\":\"volume.auto\",\"args\":{\"tenant\":\"a\",\"volume\":\"b\",\"auto\":\"on\"}}"),
			 TD_E_INVALID_ARGUMENT);
	assert_int_equal(parse("{\"verb\":\"volume.auto\",\"args\":{\"tenant\":\"a\",\"volume\":\"b\"}}"),
			 TD_E_INVALID_ARGUMENT);
	assert_true(td_verb_info(TD_V_LEG_SEEN)->mutating);
	assert_string_equal(td_verb_name(TD_V_VOLUME_AUTO), "volume.auto");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_volume_auto),
		cmocka_unit_test(test_leg_report),
		cmocka_unit_test(test_attach),
		cmocka_unit_test(test_libvirt_escape),
		cmocka_unit_test(test_detach_vm),
		cmocka_unit_test(test_proto),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
