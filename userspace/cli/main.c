// SPDX-License-Identifier: GPL-2.0
#include "tenantctl.h"

int main(int argc, char **argv)
{
	return tc_main(argc, argv);
}
