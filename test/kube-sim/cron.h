/*
 * cron — the five-field cron schedules of CronJob.spec.schedule, for
 * kube-sim's CronJob controller: minute hour day-of-month month day-of-week.
 * Each field is a star or "?", a number N, a range A-B, a step over a star
 * or a range (star, slash, N), or a comma list of those; day-of-week runs
 * 0-7 (0 and 7 are Sunday). The macros @yearly @annually @monthly @weekly
 * @daily @midnight @hourly are accepted. Times are UTC (no timeZone). As in
 * Vixie cron, when both day fields are restricted a day matching either one
 * fires.
 */
#ifndef KUBESIM_CRON_H
#define KUBESIM_CRON_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

struct ks_cron {
	uint64_t min, hour, dom, mon, dow; /* bit sets */
	bool dom_star, dow_star;
};

/* Parses spec. 0 with *c set, or BERR_INVALID. */
int cron_parse(const char *spec, struct ks_cron *c);

/* The first whole minute strictly after t that the schedule matches, or 0
 * when none comes within about four years. */
time_t cron_next(const struct ks_cron *c, time_t t);

#endif
