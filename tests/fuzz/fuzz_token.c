// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the LUKS2 token reader (dmt_token_parse,
 * userspace/lib/leg.c): the "dm-tenant" token JSON that dmt-udev probe,
 * tenantd and dmt_leg_read_info take from any leg's header, which anyone
 * who can write the device controls.  A token that parses must name valid
 * ids, a known class and an in-range leg index; the token built back from
 * what was read must parse to the same identity.
 */
#include <errno.h>

#include <dmtenant.h>
#include "dmt-internal.h"

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dmt_leg_info info, again;
	struct dmt_leg legs[DMT_MAX_LEGS] = { 0 };
	struct dmt_volume vol = { 0 };
	char *json = fuzz_cstr(data, size), *built = NULL;

	memset(&info, 0xa5, sizeof(info));
	if (dmt_token_parse(json, &info)) {
		free(json);
		return 0;
	}
	CHECK(!dmt_id_valid(info.tenant) && !dmt_id_valid(info.volume));
	CHECK(!dmt_uuid_valid(info.uuid));
	CHECK(dmt_leg_class_name(info.cls));
	CHECK(info.index < DMT_MAX_LEGS);
	CHECK(info.layout <= 1000);

	legs[info.index].cls = info.cls;
	vol.tenant = info.tenant;
	vol.volume = info.volume;
	vol.uuid = info.uuid;
	vol.legs = legs;
	vol.nr_legs = info.index + 1;
	vol.generation = info.generation;
	CHECK(dmt_token_build(&vol, info.index, info.size, &built) == 0);
	memset(&again, 0, sizeof(again));
	CHECK(dmt_token_parse(built, &again) == 0);
	CHECK(!strcmp(again.tenant, info.tenant));
	CHECK(!strcmp(again.volume, info.volume));
	CHECK(!strcmp(again.uuid, info.uuid));
	CHECK(again.cls == info.cls && again.index == info.index);
	CHECK(again.generation == info.generation && again.size == info.size);
	free(built);
	free(json);
	return 0;
}
