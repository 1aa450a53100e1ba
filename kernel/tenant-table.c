// SPDX-License-Identifier: GPL-2.0
/*
 * dm-tenant: kernel-neutral parser of the table line and of keyring key
 * references.  Compiled into dm-tenant.ko and, unchanged, into the
 * userspace unit tests, the libFuzzer target and the tenant-table tool.
 *
 * Table grammar (the target's argv after <start> <length> "tenant"):
 *
 *   <tenant_id> <volume_id> <cipher> <key_ref> <iv_offset>
 *   <#legs> <class> <dev> <offset> [<class> <dev> <offset>]...
 *   [<#opt_args> <opt_arg>...]
 *
 *   tenant_id, volume_id
 *	1..DM_TENANT_ID_MAX (23) characters of [A-Za-z0-9._-], the first a
 *	letter or a digit.
 *   cipher
 *	exactly "aes-xts-plain64".
 *   key_ref
 *	":<size>:logon:<description>", a logon key in the kernel keyring.
 *	<size> is the key size in bytes, 32 or 64, in decimal digits without
 *	sign, blanks or leading zeros.  The type must be exactly "logon".
 *	<description> must be exactly "dm-tenant:<tenant_id>:<volume_id>" of
 *	this very table (-EACCES otherwise).  Hex keys are refused.
 *   iv_offset
 *	decimal u64, 512-byte sectors, as in dm-crypt.
 *   #legs
 *	1..DM_TENANT_MAX_LEGS, followed by that many triples:
 *   class
 *	"local" (same facility, synchronous), "zone" (other failure domain,
 *	synchronous) or "remote" (other region, asynchronous).
 *   dev
 *	device path or major:minor: any non-empty string without blanks or
 *	control characters (the kernel opens it).
 *   offset
 *	decimal u64, start of the data on the leg, 512-byte sectors.
 *   #opt_args, opt_arg
 *	optional block: a count, then exactly that many arguments, each at
 *	most once: "allow_discards", "sector_size:<512|4096>",
 *	"metadata:<sectors>" (the metadata area right before each leg's
 *	offset; every offset must be at least that), "region_size:<sectors>"
 *	(a power of two, at least 8), "min_sync:<n>" (1..#legs) and
 *	"nosync", "remote_budget:<bytes>" (bytes of ciphertext in flight to
 *	asynchronous remote legs, 65536 to 2^40) and "remote_sync" (remote
 *	legs written synchronously).  With sector_size:4096, iv_offset and every leg offset
 *	must be multiples of 8.  A count of 0 is accepted.
 *
 * All numbers are plain decimal digits: no sign, no blanks, no "0x", no
 * leading zeros ("0" itself is fine), no overflow.  One parser serves the
 * kernel and userspace alike, so there is no kstrto*()/strto*() drift.
 *
 * The canonical form printed by tenant_format_table() uses the same
 * grammar; the optional block is omitted when every option has its
 * default value (as dm-crypt does), otherwise it is printed as a count
 * followed by "allow_discards", "sector_size:4096", "metadata:<n>",
 * "region_size:<n>", "min_sync:<n>", "nosync", "remote_budget:<n>",
 * "remote_sync", in that order.
 *
 * Errors return -EINVAL (-EACCES for a key bound to another tenant or
 * volume) and set *error to a constant message that never contains any
 * argument text: a mistyped key argument may be key material.
 *
 * No allocation; results point into the caller's argv strings.
 */

#include "tenant-table.h"

#define TT_STR(x)	#x
#define TT_XSTR(x)	TT_STR(x)

#define TT_ID_RULE \
	"(1-" TT_XSTR(DM_TENANT_ID_MAX) \
	" characters of A-Za-z0-9._-, starting with a letter or digit)"

/* Error messages: constant text, never any argument. */
static const char tt_err_argv[] = "invalid argument vector";
static const char tt_err_few_args[] = "not enough arguments";
static const char tt_err_tenant[] = "invalid tenant id " TT_ID_RULE;
static const char tt_err_volume[] = "invalid volume id " TT_ID_RULE;
static const char tt_err_cipher[] =
	"unsupported cipher (only " DM_TENANT_CIPHER ")";
static const char tt_err_key_missing[] = "missing key reference";
static const char tt_err_key_hex[] =
	"hex keys are not accepted: the key must be a keyring reference :<size>:"
	DM_TENANT_KEY_TYPE ":<description>";
static const char tt_err_key_no_size[] = "key reference has no key size";
static const char tt_err_key_size_syntax[] =
	"key size must be decimal digits without sign or blanks";
static const char tt_err_key_size_zeros[] =
	"key size must not have leading zeros";
static const char tt_err_key_size[] = "key size must be "
	TT_XSTR(DM_TENANT_KEY_SIZE_MIN) " or "
	TT_XSTR(DM_TENANT_KEY_SIZE_MAX) " bytes";
static const char tt_err_key_no_type[] = "key reference has no key type";
static const char tt_err_key_type[] = "key type must be " DM_TENANT_KEY_TYPE
	" (user and other key types are refused)";
static const char tt_err_key_no_desc[] =
	"key reference has no key description";
static const char tt_err_key_desc[] =
	"key description contains blanks or control characters";
static const char tt_err_key_binding[] =
	"key belongs to another tenant or volume: description must be "
	DM_TENANT_KEY_PREFIX "<tenant>:<volume>";
static const char tt_err_iv_offset[] =
	"invalid iv_offset (decimal 512-byte sectors)";
static const char tt_err_nr_legs[] =
	"invalid number of legs (1-" TT_XSTR(DM_TENANT_MAX_LEGS) ")";
static const char tt_err_few_leg_args[] =
	"not enough arguments for the number of legs";
static const char tt_err_leg_class[] =
	"invalid leg class (local, zone or remote)";
static const char tt_err_leg_dev_empty[] = "empty leg device";
static const char tt_err_leg_dev[] =
	"leg device contains blanks or control characters";
static const char tt_err_leg_offset[] =
	"invalid leg offset (decimal 512-byte sectors)";
static const char tt_err_opt_count[] = "invalid optional argument count";
static const char tt_err_opt_few[] =
	"missing optional arguments (fewer than their count)";
static const char tt_err_opt_many[] =
	"too many arguments (more optional arguments than their count)";
static const char tt_err_opt_unknown[] = "unknown optional argument";
static const char tt_err_opt_dup[] = "duplicate optional argument";
static const char tt_err_sector_size[] = "invalid sector_size (512 or 4096)";
static const char tt_err_iv_align[] =
	"iv_offset must be a multiple of 8 with sector_size:4096";
static const char tt_err_leg_align[] =
	"leg offset must be a multiple of 8 with sector_size:4096";
static const char tt_err_meta[] =
	"invalid metadata size (decimal sectors, at most 2^31)";
static const char tt_err_meta_room[] =
	"leg offset is smaller than the metadata area before it";
static const char tt_err_region[] =
	"invalid region_size (a power of two, 8 to 2^30 sectors)";
static const char tt_err_min_sync[] =
	"invalid min_sync (1 to the number of legs)";
static const char tt_err_remote_budget[] =
	"invalid remote_budget (decimal bytes, 65536 to 2^40)";

#define TT_OPT_DISCARDS		"allow_discards"
#define TT_OPT_SECTOR_SIZE	"sector_size:"
#define TT_OPT_META		"metadata:"
#define TT_OPT_REGION		"region_size:"
#define TT_OPT_MIN_SYNC		"min_sync:"
#define TT_OPT_NOSYNC		"nosync"
#define TT_OPT_REMOTE_BUDGET	"remote_budget:"
#define TT_OPT_REMOTE_SYNC	"remote_sync"
#define TT_SECTOR_SIZE_4K	4096
#define TT_SECTOR_SIZE_512	512
#define TT_SECTORS_PER_4K	(TT_SECTOR_SIZE_4K / TT_SECTOR_SIZE_512)

/* Fixed arguments before the legs: tenant volume cipher key iv #legs. */
#define TT_FIXED_ARGS		6
#define TT_LEG_ARGS		3

static int tt_fail(const char **error, const char *msg, int ret)
{
	if (error)
		*error = msg;
	return ret;
}

static bool tt_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool tt_is_alnum(char c)
{
	return tt_is_digit(c) || (c >= 'a' && c <= 'z') ||
	       (c >= 'A' && c <= 'Z');
}

/* Blank, control character or DEL: never part of a device or description. */
static bool tt_is_blank_or_ctrl(char c)
{
	unsigned char u = (unsigned char)c;

	return u <= ' ' || u == 0x7f;
}

static bool tt_has_blank_or_ctrl(const char *s)
{
	for (; *s; s++)
		if (tt_is_blank_or_ctrl(*s))
			return true;
	return false;
}

enum tt_num {
	TT_NUM_OK,
	TT_NUM_EMPTY,		/* no digit at all */
	TT_NUM_ZEROS,		/* leading zero followed by more digits */
	TT_NUM_OVERFLOW,	/* does not fit in 64 bits */
};

/*
 * Parse the run of decimal digits at @s into *@res, stopping at the first
 * non-digit, which is returned in *@end.  On overflow the digits are still
 * consumed so *@end is meaningful.
 */
static enum tt_num tt_parse_digits(const char *s, const char **end,
				   unsigned long long *res)
{
	const unsigned long long max = ~0ULL;
	enum tt_num ret = TT_NUM_OK;
	unsigned long long v = 0;
	const char *p = s;

	for (; tt_is_digit(*p); p++) {
		unsigned int d = (unsigned int)(*p - '0');

		if (ret == TT_NUM_OK && v > (max - d) / 10)
			ret = TT_NUM_OVERFLOW;
		if (ret == TT_NUM_OK)
			v = v * 10 + d;
	}
	*end = p;
	*res = v;
	if (p == s)
		return TT_NUM_EMPTY;
	if (s[0] == '0' && p - s > 1)
		return TT_NUM_ZEROS;
	return ret;
}

/* A whole argument that must be a plain decimal u64. */
static bool tt_parse_u64(const char *s, unsigned long long *res)
{
	const char *end;

	return tt_parse_digits(s, &end, res) == TT_NUM_OK && *end == '\0';
}

int tenant_valid_id(const char *id)
{
	unsigned int i;

	if (!id || !tt_is_alnum(id[0]))
		return -EINVAL;
	for (i = 1; id[i]; i++) {
		if (i >= DM_TENANT_ID_MAX)
			return -EINVAL;
		if (!tt_is_alnum(id[i]) && id[i] != '.' && id[i] != '_' &&
		    id[i] != '-')
			return -EINVAL;
	}
	return 0;
}

int tenant_parse_key_ref(const char *s, struct tenant_key_ref *ref,
			 const char **error)
{
	static const char type[] = DM_TENANT_KEY_TYPE;
	const size_t type_len = sizeof(type) - 1;
	unsigned long long size;
	const char *p, *t;

	if (!s || !ref)
		return tt_fail(error, tt_err_key_missing, -EINVAL);
	memset(ref, 0, sizeof(*ref));

	if (s[0] != ':')
		return tt_fail(error, tt_err_key_hex, -EINVAL);

	/* ":<size>:" */
	switch (tt_parse_digits(s + 1, &p, &size)) {
	case TT_NUM_EMPTY:
		if (*p == ':' || *p == '\0')
			return tt_fail(error, tt_err_key_no_size, -EINVAL);
		return tt_fail(error, tt_err_key_size_syntax, -EINVAL);
	case TT_NUM_ZEROS:
		if (*p != ':')
			return tt_fail(error, tt_err_key_size_syntax, -EINVAL);
		return tt_fail(error, tt_err_key_size_zeros, -EINVAL);
	case TT_NUM_OVERFLOW:
		size = ~0ULL;	/* too large: caught below */
		break;
	case TT_NUM_OK:
		break;
	}
	if (*p == '\0')
		return tt_fail(error, tt_err_key_no_type, -EINVAL);
	if (*p != ':')
		return tt_fail(error, tt_err_key_size_syntax, -EINVAL);
	if (size != DM_TENANT_KEY_SIZE_MIN && size != DM_TENANT_KEY_SIZE_MAX)
		return tt_fail(error, tt_err_key_size, -EINVAL);
	p++;

	/* "<type>:" */
	t = p;
	while (*t && *t != ':')
		t++;
	if (t == p)
		return tt_fail(error, tt_err_key_no_type, -EINVAL);
	if ((size_t)(t - p) != type_len || strncmp(p, type, type_len))
		return tt_fail(error, tt_err_key_type, -EINVAL);
	if (*t != ':')
		return tt_fail(error, tt_err_key_no_desc, -EINVAL);

	/* "<description>" */
	t++;
	if (*t == '\0')
		return tt_fail(error, tt_err_key_no_desc, -EINVAL);
	if (tt_has_blank_or_ctrl(t))
		return tt_fail(error, tt_err_key_desc, -EINVAL);

	ref->key_size = (unsigned int)size;
	ref->type = p;
	ref->type_len = type_len;
	ref->desc = t;
	return 0;
}

int tenant_check_key_binding(const struct tenant_key_ref *ref,
			     const char *tenant, const char *volume,
			     const char **error)
{
	static const char prefix[] = DM_TENANT_KEY_PREFIX;
	const size_t prefix_len = sizeof(prefix) - 1;
	const char *d;
	size_t tlen;

	/* Invalid ids could contain ':' and shift the fields: refuse. */
	if (!ref || !ref->desc || tenant_valid_id(tenant) ||
	    tenant_valid_id(volume))
		return tt_fail(error, tt_err_key_binding, -EACCES);

	d = ref->desc;
	tlen = strlen(tenant);
	if (strncmp(d, prefix, prefix_len))
		return tt_fail(error, tt_err_key_binding, -EACCES);
	d += prefix_len;
	if (strncmp(d, tenant, tlen) || d[tlen] != ':')
		return tt_fail(error, tt_err_key_binding, -EACCES);
	d += tlen + 1;
	if (strcmp(d, volume))
		return tt_fail(error, tt_err_key_binding, -EACCES);
	return 0;
}

static int tt_parse_class(const char *s, enum tenant_leg_class *cls)
{
	if (!strcmp(s, "local"))
		*cls = TENANT_LEG_LOCAL;
	else if (!strcmp(s, "zone"))
		*cls = TENANT_LEG_ZONE;
	else if (!strcmp(s, "remote"))
		*cls = TENANT_LEG_REMOTE;
	else
		return -EINVAL;
	return 0;
}

const char *tenant_leg_class_name(enum tenant_leg_class cls)
{
	switch (cls) {
	case TENANT_LEG_LOCAL:
		return "local";
	case TENANT_LEG_ZONE:
		return "zone";
	case TENANT_LEG_REMOTE:
		return "remote";
	}
	return NULL;
}

static int tt_parse_opt_args(unsigned int argc, char **argv,
			     struct tenant_table_spec *spec,
			     const char **error)
{
	const size_t ss_len = sizeof(TT_OPT_SECTOR_SIZE) - 1;
	const size_t meta_len = sizeof(TT_OPT_META) - 1;
	const size_t region_len = sizeof(TT_OPT_REGION) - 1;
	const size_t min_sync_len = sizeof(TT_OPT_MIN_SYNC) - 1;
	const size_t budget_len = sizeof(TT_OPT_REMOTE_BUDGET) - 1;
	bool have_discards = false, have_sector_size = false;
	bool have_meta = false, have_region = false, have_min_sync = false;
	bool have_budget = false;
	unsigned long long count, v;
	unsigned int i;

	if (!argc)
		return 0;
	if (!tt_parse_u64(argv[0], &count))
		return tt_fail(error, tt_err_opt_count, -EINVAL);
	if (count > argc - 1)
		return tt_fail(error, tt_err_opt_few, -EINVAL);
	if (count < argc - 1)
		return tt_fail(error, tt_err_opt_many, -EINVAL);

	for (i = 1; i < argc; i++) {
		const char *arg = argv[i];

		if (!strcmp(arg, TT_OPT_DISCARDS)) {
			if (have_discards)
				return tt_fail(error, tt_err_opt_dup, -EINVAL);
			have_discards = true;
			spec->allow_discards = true;
		} else if (!strncmp(arg, TT_OPT_SECTOR_SIZE, ss_len)) {
			if (have_sector_size)
				return tt_fail(error, tt_err_opt_dup, -EINVAL);
			have_sector_size = true;
			if (!tt_parse_u64(arg + ss_len, &v) ||
			    (v != TT_SECTOR_SIZE_512 &&
			     v != TT_SECTOR_SIZE_4K))
				return tt_fail(error, tt_err_sector_size,
					       -EINVAL);
			spec->sector_size = (unsigned int)v;
		} else if (!strncmp(arg, TT_OPT_META, meta_len)) {
			if (have_meta)
				return tt_fail(error, tt_err_opt_dup, -EINVAL);
			have_meta = true;
			if (!tt_parse_u64(arg + meta_len, &v) || v > 0x80000000ULL)
				return tt_fail(error, tt_err_meta, -EINVAL);
			spec->meta_sectors = (unsigned int)v;
		} else if (!strncmp(arg, TT_OPT_REGION, region_len)) {
			if (have_region)
				return tt_fail(error, tt_err_opt_dup, -EINVAL);
			have_region = true;
			if (!tt_parse_u64(arg + region_len, &v) || v < 8 ||
			    v > (1ULL << 30) || (v & (v - 1)))
				return tt_fail(error, tt_err_region, -EINVAL);
			spec->region_size = (unsigned int)v;
		} else if (!strncmp(arg, TT_OPT_MIN_SYNC, min_sync_len)) {
			if (have_min_sync)
				return tt_fail(error, tt_err_opt_dup, -EINVAL);
			have_min_sync = true;
			if (!tt_parse_u64(arg + min_sync_len, &v) || v < 1 ||
			    v > spec->nr_legs)
				return tt_fail(error, tt_err_min_sync, -EINVAL);
			spec->min_sync = (unsigned int)v;
		} else if (!strcmp(arg, TT_OPT_NOSYNC)) {
			if (spec->nosync)
				return tt_fail(error, tt_err_opt_dup, -EINVAL);
			spec->nosync = true;
		} else if (!strncmp(arg, TT_OPT_REMOTE_BUDGET, budget_len)) {
			if (have_budget)
				return tt_fail(error, tt_err_opt_dup, -EINVAL);
			have_budget = true;
			if (!tt_parse_u64(arg + budget_len, &v) ||
			    v < TENANT_REMOTE_BUDGET_MIN ||
			    v > TENANT_REMOTE_BUDGET_MAX)
				return tt_fail(error, tt_err_remote_budget,
					       -EINVAL);
			spec->remote_budget = v;
		} else if (!strcmp(arg, TT_OPT_REMOTE_SYNC)) {
			if (spec->remote_sync)
				return tt_fail(error, tt_err_opt_dup, -EINVAL);
			spec->remote_sync = true;
		} else {
			return tt_fail(error, tt_err_opt_unknown, -EINVAL);
		}
	}
	return 0;
}

int tenant_parse_table(unsigned int argc, char **argv,
		       struct tenant_table_spec *spec, const char **error)
{
	unsigned long long v;
	unsigned int i, left;
	int r;

	if (!spec || (argc && !argv))
		return tt_fail(error, tt_err_argv, -EINVAL);
	for (i = 0; i < argc; i++)
		if (!argv[i])
			return tt_fail(error, tt_err_argv, -EINVAL);

	memset(spec, 0, sizeof(*spec));
	spec->sector_size = TT_SECTOR_SIZE_512;

	if (argc < TT_FIXED_ARGS)
		return tt_fail(error, tt_err_few_args, -EINVAL);

	if (tenant_valid_id(argv[0]))
		return tt_fail(error, tt_err_tenant, -EINVAL);
	spec->tenant = argv[0];

	if (tenant_valid_id(argv[1]))
		return tt_fail(error, tt_err_volume, -EINVAL);
	spec->volume = argv[1];

	if (strcmp(argv[2], DM_TENANT_CIPHER))
		return tt_fail(error, tt_err_cipher, -EINVAL);
	spec->cipher = argv[2];

	r = tenant_parse_key_ref(argv[3], &spec->key, error);
	if (r)
		return r;
	r = tenant_check_key_binding(&spec->key, spec->tenant, spec->volume,
				     error);
	if (r)
		return r;
	spec->key_string = argv[3];

	if (!tt_parse_u64(argv[4], &v))
		return tt_fail(error, tt_err_iv_offset, -EINVAL);
	spec->iv_offset = v;

	if (!tt_parse_u64(argv[5], &v) || v < 1 || v > DM_TENANT_MAX_LEGS)
		return tt_fail(error, tt_err_nr_legs, -EINVAL);
	spec->nr_legs = (unsigned int)v;

	argc -= TT_FIXED_ARGS;
	argv += TT_FIXED_ARGS;
	if (argc / TT_LEG_ARGS < spec->nr_legs)
		return tt_fail(error, tt_err_few_leg_args, -EINVAL);

	for (i = 0; i < spec->nr_legs; i++) {
		struct tenant_leg_spec *leg = &spec->legs[i];
		char **a = argv + i * TT_LEG_ARGS;

		if (tt_parse_class(a[0], &leg->cls))
			return tt_fail(error, tt_err_leg_class, -EINVAL);
		if (a[1][0] == '\0')
			return tt_fail(error, tt_err_leg_dev_empty, -EINVAL);
		if (tt_has_blank_or_ctrl(a[1]))
			return tt_fail(error, tt_err_leg_dev, -EINVAL);
		leg->path = a[1];
		if (!tt_parse_u64(a[2], &v))
			return tt_fail(error, tt_err_leg_offset, -EINVAL);
		leg->offset = v;
	}

	left = argc - spec->nr_legs * TT_LEG_ARGS;
	r = tt_parse_opt_args(left, argv + spec->nr_legs * TT_LEG_ARGS, spec,
			      error);
	if (r)
		return r;

	for (i = 0; i < spec->nr_legs; i++)
		if (spec->legs[i].offset < spec->meta_sectors)
			return tt_fail(error, tt_err_meta_room, -EINVAL);

	if (spec->sector_size == TT_SECTOR_SIZE_4K) {
		if (spec->iv_offset % TT_SECTORS_PER_4K)
			return tt_fail(error, tt_err_iv_align, -EINVAL);
		for (i = 0; i < spec->nr_legs; i++)
			if (spec->legs[i].offset % TT_SECTORS_PER_4K)
				return tt_fail(error, tt_err_leg_align,
					       -EINVAL);
	}
	return 0;
}

/* snprintf-style output cursor: keeps counting once the buffer is full. */
struct tt_out {
	char *pos;
	size_t room;
	size_t total;
};

static void tt_out_advance(struct tt_out *o, int n)
{
	size_t len;

	if (n < 0)
		return;
	len = (size_t)n;
	o->total += len;
	if (len < o->room) {
		o->pos += len;
		o->room -= len;
	} else if (o->room) {
		/* Truncated: snprintf already terminated at the end. */
		o->pos += o->room - 1;
		o->room = 1;
	}
}

static const char *tt_or(const char *s, const char *fallback)
{
	return s ? s : fallback;
}

int tenant_format_table(const struct tenant_table_spec *spec,
			const char *const *leg_names, char *buf, size_t size)
{
	struct tt_out o = { .pos = buf, .room = buf ? size : 0 };
	unsigned int i, nr_legs, nr_opts;
	int n;

	if (o.room)
		buf[0] = '\0';
	if (!spec)
		return 0;
	nr_legs = spec->nr_legs;
	if (nr_legs > DM_TENANT_MAX_LEGS)
		nr_legs = DM_TENANT_MAX_LEGS;

	/*
	 * With room == 1 every later snprintf() only rewrites the final NUL,
	 * so the output stays the longest prefix that fits, like snprintf.
	 */
	n = snprintf(o.pos, o.room, "%s %s %s :%u:%.*s:%s %llu %u",
		     tt_or(spec->tenant, ""), tt_or(spec->volume, ""),
		     tt_or(spec->cipher, DM_TENANT_CIPHER),
		     spec->key.key_size,
		     spec->key.type ? (int)spec->key.type_len : 0,
		     tt_or(spec->key.type, ""), tt_or(spec->key.desc, ""),
		     (unsigned long long)spec->iv_offset, nr_legs);
	tt_out_advance(&o, n);

	for (i = 0; i < nr_legs; i++) {
		const struct tenant_leg_spec *leg = &spec->legs[i];
		const char *name = leg->path;

		if (leg_names && leg_names[i])
			name = leg_names[i];
		n = snprintf(o.pos, o.room, " %s %s %llu",
			     tt_or(tenant_leg_class_name(leg->cls), "invalid"),
			     tt_or(name, ""),
			     (unsigned long long)leg->offset);
		tt_out_advance(&o, n);
	}

	nr_opts = !!spec->allow_discards +
		  (spec->sector_size == TT_SECTOR_SIZE_4K) +
		  !!spec->meta_sectors + !!spec->region_size +
		  !!spec->min_sync + !!spec->nosync +
		  !!spec->remote_budget + !!spec->remote_sync;
	if (nr_opts) {
		n = snprintf(o.pos, o.room, " %u%s%s", nr_opts,
			     spec->allow_discards ? " " TT_OPT_DISCARDS : "",
			     spec->sector_size == TT_SECTOR_SIZE_4K ?
			     " " TT_OPT_SECTOR_SIZE TT_XSTR(TT_SECTOR_SIZE_4K) :
			     "");
		tt_out_advance(&o, n);
	}
	if (spec->meta_sectors) {
		n = snprintf(o.pos, o.room, " " TT_OPT_META "%u",
			     spec->meta_sectors);
		tt_out_advance(&o, n);
	}
	if (spec->region_size) {
		n = snprintf(o.pos, o.room, " " TT_OPT_REGION "%u",
			     spec->region_size);
		tt_out_advance(&o, n);
	}
	if (spec->min_sync) {
		n = snprintf(o.pos, o.room, " " TT_OPT_MIN_SYNC "%u",
			     spec->min_sync);
		tt_out_advance(&o, n);
	}
	if (spec->nosync) {
		n = snprintf(o.pos, o.room, " " TT_OPT_NOSYNC);
		tt_out_advance(&o, n);
	}
	if (spec->remote_budget) {
		n = snprintf(o.pos, o.room, " " TT_OPT_REMOTE_BUDGET "%llu",
			     spec->remote_budget);
		tt_out_advance(&o, n);
	}
	if (spec->remote_sync) {
		n = snprintf(o.pos, o.room, " " TT_OPT_REMOTE_SYNC);
		tt_out_advance(&o, n);
	}

	return o.total > 0x7fffffff ? 0x7fffffff : (int)o.total;
}
