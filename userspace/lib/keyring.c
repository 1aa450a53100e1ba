// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libdmtenant: the DEK in the kernel keyring.
 *
 * The target looks the key up with request_key(&key_type_logon, desc, NULL)
 * while the table is loaded, i.e. in the context of the thread that issues
 * the dm ioctl.  request_key() searches that thread's thread keyring first,
 * then its process and session keyrings.  We add the key to the calling
 * thread's own keyring (KEY_SPEC_THREAD_KEYRING, created on demand): no
 * other thread or process, not even one of the same uid, can find it, it
 * works the same under systemd's private session keyrings (KeyringMode=),
 * and it dies with the thread if we crash between add and invalidate.
 * After the table load the key is invalidated: the target's cipher
 * transform holds the only copy.
 */
#include <string.h>

#include <keyutils.h>

#include "dmt-internal.h"

int32_t dmt_keyring_add(struct dmt_ctx *ctx, const char *tenant,
			const char *volume, const struct dmt_key *dek)
{
	char desc[96];
	key_serial_t serial;
	int r;

	if (!dek || dek->kind != DMT_KEY_DEK)
		return -EINVAL;
	r = dmt_key_description(tenant, volume, desc, sizeof(desc));
	if (r)
		return r;
	serial = add_key("logon", desc, dek->bytes, dek->size,
			 KEY_SPEC_THREAD_KEYRING);
	if (serial < 0) {
		r = -errno;
		dmt_err(ctx, "cannot add logon key %s to the thread keyring: %s",
			desc, strerror(-r));
		return r;
	}
	dmt_dbg(ctx, "logon key %s added (serial %d)", desc, serial);
	return serial;
}

int dmt_keyring_drop(struct dmt_ctx *ctx, int32_t serial)
{
	if (serial <= 0)
		return -EINVAL;
	if (keyctl_invalidate(serial) == 0)
		return 0;
	if (keyctl_unlink(serial, KEY_SPEC_THREAD_KEYRING) == 0)
		return 0;
	dmt_err(ctx, "cannot remove key %d from the thread keyring: %s",
		serial, strerror(errno));
	return -errno;
}
