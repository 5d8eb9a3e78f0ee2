/* daemonopts — see daemonopts.h. */
#include "daemonopts.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "fsx.h"
#include "osrand.h"
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

int daemonopts_open_cache(const struct daemon_opts *opts, const struct rcache_opts *base, struct rcache **ret)
{
	struct rcache_opts ro = *base;
	char *password = NULL, *secret = NULL;
	size_t secret_len = 0;
	uint8_t random_key[32];
	struct rcache *cache = NULL;
	int rc = 0;

	if (opts->server_secret_file) {
		if ((rc = daemonopts_read_secret(opts->server_secret_file, &secret, &secret_len)) < 0)
			return err_prefix(rc, "--server-secret-file");
		if (secret_len < 16) {
			rc = err_set(BERR_INVALID, "--server-secret-file: the key must have at least 16 bytes");
			goto out;
		}
		ro.hmac_key = (const uint8_t *)secret;
		ro.hmac_key_len = secret_len > 64 ? 64 : secret_len;
	}
	if (!opts->redis)
		goto out;
	if (!ro.hmac_key) {
		if ((rc = osrand_bytes(random_key, sizeof(random_key))) < 0)
			goto out;
		ro.hmac_key = random_key;
		ro.hmac_key_len = sizeof(random_key);
	}
	if (opts->redis_password_file &&
	    (rc = daemonopts_read_secret(opts->redis_password_file, &password, NULL)) < 0) {
		err_prefix(rc, "--redis-password-file");
		goto out;
	}
	ro.addr = opts->redis;
	ro.password = password;
	if ((rc = rcache_new(&ro, &cache)) < 0) {
		err_prefix(rc, "--redis");
		goto out;
	}
out:
	if (rc == 0)
		*ret = cache;
	daemonopts_secret_free(password);
	daemonopts_secret_free(secret);
	explicit_bzero(random_key, sizeof(random_key));
	return rc;
}
