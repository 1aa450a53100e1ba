// SPDX-License-Identifier: GPL-2.0
/*
 * Compiles iff a crypto completion gets the request's data pointer itself
 * (void *), not the crypto_async_request: v6.3, upstream commit "crypto:
 * api - Use data directly in completion function" (2023-02).
 */
#include <linux/crypto.h>

static void probe_done(void *data, int err)
{
}

crypto_completion_t probe_crypto_completion_data = probe_done;
