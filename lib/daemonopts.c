/* daemonopts — see daemonopts.h. */
#include "daemonopts.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "fsx.h"
#include "str.h"

#define SECRET_MAX_BYTES (64 << 10)

/* The common flags that take a string, and where each goes in opts. */
static const char **common_string(struct daemon_opts *opts, const char *name)
{
	if (!strcmp(name, "--listen"))
		return &opts->listen;
	if (!strcmp(name, "--redis"))
		return &opts->redis;
	if (!strcmp(name, "--redis-password-file"))
		return &opts->redis_password_file;
	if (!strcmp(name, "--server-secret-file"))
		return &opts->server_secret_file;
	return NULL;
}

static const struct daemon_flag *find_flag(const struct daemon_flag *flags, size_t n_flags, const char *name)
{
	for (size_t i = 0; i < n_flags; i++)
		if (!strcmp(flags[i].name, name))
			return &flags[i];
	return NULL;
}

/* Stores value in a daemon flag's destination; 0 or a negative code. */
static int set_flag(const struct daemon_flag *fl, const char *value)
{
	switch (fl->type) {
	case DAEMON_FLAG_BOOL:
		*(bool *)fl->dest = true;
		return 0;
	case DAEMON_FLAG_STRING:
		*(const char **)fl->dest = value;
		return 0;
	case DAEMON_FLAG_INT:
		return str_to_int(value, fl->min, fl->max, fl->dest);
	case DAEMON_FLAG_DURATION:
		return str_to_duration_ms(value, fl->dest);
	case DAEMON_FLAG_SIZE:
		return str_to_size(value, fl->dest);
	}
	return BERR_INTERNAL;
}

int daemonopts_parse(int argc, char **argv, const struct daemon_flag *flags, size_t n_flags,
		     struct daemon_opts *opts)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		const struct daemon_flag *fl = find_flag(flags, n_flags, a);
		const char **common;
		int rc;

		if (!strcmp(a, "--help"))
			return DAEMONOPTS_HELP;
		if (!strcmp(a, "--version"))
			return DAEMONOPTS_VERSION;
		if (fl && fl->type == DAEMON_FLAG_BOOL) {
			set_flag(fl, NULL);
			if (fl->given)
				*fl->given = true;
			continue;
		}
		if (!v)
			return err_set(BERR_INVALID, "unknown flag or missing value: %s", a);
		i++;
		if (fl) {
			rc = set_flag(fl, v);
			if (rc == 0 && fl->given)
				*fl->given = true;
		} else if ((common = common_string(opts, a))) {
			*common = v;
			rc = 0;
		} else if (!strcmp(a, "--log-level")) {
			rc = log_parse_level(v, &opts->log_level);
		} else if (!strcmp(a, "--log-format")) {
			rc = log_parse_format(v, &opts->log_format);
		} else {
			return err_set(BERR_INVALID, "unknown flag: %s", a);
		}
		if (rc < 0)
			return err_set(BERR_INVALID, "bad value for %s: %s", a, v);
	}
	return DAEMONOPTS_RUN;
}

int daemonopts_read_secret(const char *path, char **ret, size_t *ret_len)
{
	struct buf b;
	char *s;
	size_t len;
	int rc;

	buf_init(&b, SECRET_MAX_BYTES);
	if ((rc = fsx_read_file(path, &b)) < 0)
		goto out;
	len = b.len;
	while (len && (b.ptr[len - 1] == '\n' || b.ptr[len - 1] == '\r' || b.ptr[len - 1] == ' '))
		len--;
	buf_truncate(&b, len);
	if (!(s = buf_detach(&b, &len))) {
		rc = err_set(BERR_NOMEM, "out of memory");
		goto out;
	}
	*ret = s;
	if (ret_len)
		*ret_len = len;
out:
	explicit_bzero(b.ptr, b.len);
	buf_release(&b);
	return rc;
}

void daemonopts_secret_free(char *secret)
{
	if (!secret)
		return;
	explicit_bzero(secret, strlen(secret));
	free(secret);
}
