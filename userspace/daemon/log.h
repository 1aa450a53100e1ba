/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tenantd logging: one line per message on stderr (journald adds the time;
 * under systemd the syslog priority goes in front as "<N>").  Never pass
 * key bytes: nothing in tenantd has them.
 */
#ifndef TD_LOG_H
#define TD_LOG_H

#include <stddef.h>
#include <syslog.h>

/* Messages above this priority are dropped (default LOG_INFO). */
extern int td_log_level;

__attribute__((format(printf, 2, 3)))
void td_log(int prio, const char *fmt, ...);

/* snprintf that may cut (audit notes, details) without a warning. */
__attribute__((format(printf, 3, 4)))
void td_fmt(char *buf, size_t len, const char *fmt, ...);

#endif /* TD_LOG_H */
