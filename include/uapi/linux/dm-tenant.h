/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * dm-tenant: constants shared by the kernel target and userspace.
 *
 * Table, status and message grammar: Documentation/dm-tenant.rst.
 */
#ifndef _UAPI_LINUX_DM_TENANT_H
#define _UAPI_LINUX_DM_TENANT_H

#define DM_TENANT_TARGET_NAME	"tenant"
#define DM_TENANT_VERSION_MAJOR	1
#define DM_TENANT_VERSION_MINOR	0
#define DM_TENANT_VERSION_PATCH	0

/* DM UUID prefix that marks our devices for udev and tools. */
#define DM_TENANT_UUID_PREFIX	"TENANT-"

/*
 * Tenant and volume ids: 1..23 characters from [A-Za-z0-9._-], starting
 * with a letter or digit.  23 + "/" + 23 fits the 47 usable bytes of a
 * LUKS2 label ("<tenant>/<volume>"); ':' and '/' are excluded because they
 * separate fields in key descriptions and labels.
 */
#define DM_TENANT_ID_MAX	23

/* Every volume key lives in the kernel keyring under this description. */
#define DM_TENANT_KEY_TYPE	"logon"
#define DM_TENANT_KEY_PREFIX	"dm-tenant:"	/* dm-tenant:<tenant>:<volume> */

/* Only cipher accepted; key sizes in bytes (AES-128-XTS, AES-256-XTS). */
#define DM_TENANT_CIPHER	"aes-xts-plain64"
#define DM_TENANT_KEY_SIZE_MIN	32
#define DM_TENANT_KEY_SIZE_MAX	64

#define DM_TENANT_MAX_LEGS	8

#endif /* _UAPI_LINUX_DM_TENANT_H */
