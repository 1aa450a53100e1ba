/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tenantd logging: one line per message on stderr (journald adds the time;
 * under systemd the syslog priority goes in front as "<N>").  Never pass
 * key bytes: nothing in tenantd has them.
 */
#ifndef TD_LOG_H
#define TD_LOG_H

#include <syslog.h>

/* Messages above this priority are dropped (default LOG_INFO). */
extern int td_log_level;

__attribute__((format(printf, 2, 3)))
void td_log(int prio, const char *fmt, ...);

#endif /* TD_LOG_H */
