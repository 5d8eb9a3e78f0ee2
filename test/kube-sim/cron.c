/* cron — see cron.h. */
#include "cron.h"

#include <stdio.h>
#include <string.h>

#include "err.h"
#include "str.h"

/* One cron field as a bit set. */
static int cron_field(const char *s, int lo, int hi, uint64_t *out)
{
	char buf[128];
	uint64_t bits = 0;

	if (str_copy(buf, s, sizeof(buf)) >= sizeof(buf))
		return BERR_INVALID;
	for (char *part = buf, *comma; part; part = comma ? comma + 1 : NULL) {
		if ((comma = strchr(part, ',')))
			*comma = '\0';
		int a = lo, b = hi, step = 1;
		char *slash = strchr(part, '/');
		if (slash) {
			*slash = '\0';
			if (str_to_int(slash + 1, 1, 60, &step) < 0)
				return BERR_INVALID;
		}
		if (strcmp(part, "*") != 0 && strcmp(part, "?") != 0) {
			char *dash = strchr(part, '-');
			if (dash) {
				*dash = '\0';
				if (str_to_int(part, lo, hi, &a) < 0 || str_to_int(dash + 1, lo, hi, &b) < 0)
					return BERR_INVALID;
			} else {
				if (str_to_int(part, lo, hi, &a) < 0)
					return BERR_INVALID;
				b = slash ? hi : a;
			}
		}
		if (a > b)
			return BERR_INVALID;
		for (int v = a; v <= b; v += step)
			bits |= (uint64_t)1 << v;
	}
	*out = bits;
	return 0;
}


int cron_parse(const char *spec, struct ks_cron *c)
{
	static const struct { const char *name, *spec; } macros[] = {
		{ "@yearly", "0 0 1 1 *" }, { "@annually", "0 0 1 1 *" }, { "@monthly", "0 0 1 * *" },
		{ "@weekly", "0 0 * * 0" }, { "@daily", "0 0 * * *" },    { "@midnight", "0 0 * * *" },
		{ "@hourly", "0 * * * *" },
	};
	char f[5][64];

	for (size_t i = 0; i < sizeof(macros) / sizeof(macros[0]); i++)
		if (strcmp(spec, macros[i].name) == 0)
			spec = macros[i].spec;
	if (sscanf(spec, "%63s %63s %63s %63s %63s", f[0], f[1], f[2], f[3], f[4]) != 5)
		return BERR_INVALID;
	if (cron_field(f[0], 0, 59, &c->min) < 0 || cron_field(f[1], 0, 23, &c->hour) < 0 ||
	    cron_field(f[2], 1, 31, &c->dom) < 0 || cron_field(f[3], 1, 12, &c->mon) < 0 ||
	    cron_field(f[4], 0, 7, &c->dow) < 0)
		return BERR_INVALID;
	if (c->dow & (1u << 7))
		c->dow |= 1; /* 7 is Sunday too */
	c->dom_star = f[2][0] == '*' || f[2][0] == '?';
	c->dow_star = f[4][0] == '*' || f[4][0] == '?';
	return 0;
}

/* The first minute strictly after t that matches, or 0 when none within
 * about four years. */
time_t cron_next(const struct ks_cron *c, time_t t)
{
	t = t - t % 60 + 60;
	for (int i = 0; i < 4 * 366 * 24 * 60; i++, t += 60) {
		struct tm tm;
		gmtime_r(&t, &tm);
		if (!(c->mon & ((uint64_t)1 << (tm.tm_mon + 1)))) {
			/* skip to the next month quickly */
			tm.tm_mday = 1, tm.tm_hour = 0, tm.tm_min = 0, tm.tm_sec = 0, tm.tm_mon++;
			t = timegm(&tm) - 60;
			continue;
		}
		bool dom = c->dom & ((uint64_t)1 << tm.tm_mday), dow = c->dow & ((uint64_t)1 << tm.tm_wday);
		bool day = c->dom_star || c->dow_star ? dom && dow : dom || dow;
		if (!day) {
			tm.tm_hour = 0, tm.tm_min = 0, tm.tm_sec = 0, tm.tm_mday++;
			t = timegm(&tm) - 60;
			continue;
		}
		if ((c->hour & ((uint64_t)1 << tm.tm_hour)) && (c->min & ((uint64_t)1 << tm.tm_min)))
			return t;
	}
	return 0;
}

