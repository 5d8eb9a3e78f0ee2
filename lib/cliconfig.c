/* The berth CLI's contexts file (cliconfig.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "cliconfig.h"
#include "err.h"
#include "jsonx.h"
#include "str.h"

void cliconfig_path(const char *explicit_path, char *out, size_t size)
{
	const char *env = getenv("BERTH_CONFIG"), *home = getenv("HOME"), *xdg = getenv("XDG_CONFIG_HOME");
	char *p;

	if (explicit_path)
		p = str_dup(explicit_path);
	else if (env && *env)
		p = str_dup(env);
	else if (xdg && *xdg)
		p = str_printf("%s/berth/config", xdg);
	else
		p = str_printf("%s/.config/berth/config", home && *home ? home : ".");
	str_copy(out, p ? p : "", size);
	free(p);
}

static int read_file(const char *path, struct buf *b, bool *missing)
{
	char chunk[8192];
	ssize_t n;
	int fd, rc = 0;

	*missing = false;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		if (errno == ENOENT) {
			*missing = true;
			return 0;
		}
		return err_set(BERR_IO, "open \"%s\": %s", path, strerror(errno));
	}
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = err_set(BERR_IO, "read \"%s\": %s", path, strerror(errno));
			break;
		}
		if ((rc = buf_append(b, chunk, (size_t)n)) < 0) {
			rc = err_prefix(rc, "contexts file \"%s\"", path);
			break;
		}
	}
	close(fd);
	return rc;
}

int cliconfig_load(const char *path, json_t **ret)
{
	struct buf b;
	json_t *cfg = NULL;
	bool missing;
	int rc;

	buf_init(&b, CLICONFIG_MAX_BYTES);
	if ((rc = read_file(path, &b, &missing)) < 0)
		goto out;
	if (missing || b.len == 0) {
		cfg = json_object();
	} else if ((rc = jx_parse(b.ptr, b.len, CLICONFIG_MAX_BYTES, 16, &cfg)) < 0) {
		rc = err_prefix(rc, "contexts file \"%s\"", path);
		goto out;
	} else if (!json_is_object(cfg)) {
		rc = err_set(BERR_INVALID, "contexts file \"%s\": not a JSON object", path);
		goto out;
	}
	if (!cfg) {
		rc = err_set(BERR_NOMEM, "out of memory");
		goto out;
	}
	*ret = cfg;
	cfg = NULL;
	rc = 0;
out:
	json_decref(cfg);
	buf_release(&b);
	return rc;
}

static int mkdir_parents(const char *path)
{
	char *p = str_dup(path);
	int rc = 0;

	if (!p)
		return err_set(BERR_NOMEM, "out of memory");
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0700) < 0 && errno != EEXIST) {
			rc = err_set(BERR_IO, "mkdir \"%s\": %s", p, strerror(errno));
			break;
		}
		*s = '/';
	}
	free(p);
	return rc;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int cliconfig_save(const char *path, const json_t *cfg)
{
	struct buf b;
	char *tmp = NULL;
	int fd = -1, rc;

	buf_init(&b, CLICONFIG_MAX_BYTES);
	if (!(tmp = str_printf("%s.tmp.%ld", path, (long)getpid()))) {
		rc = err_set(BERR_NOMEM, "out of memory");
		goto out;
	}
	if ((rc = mkdir_parents(path)) < 0)
		goto out;
	if ((rc = jx_dump_pretty(cfg, &b)) < 0 || (rc = buf_putc(&b, '\n')) < 0)
		goto out;
	unlink(tmp);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0) {
		rc = err_set(BERR_IO, "create \"%s\": %s", tmp, strerror(errno));
		goto out;
	}
	/* 0600 whatever the umask. */
	if (fchmod(fd, 0600) < 0 || write_all(fd, b.ptr, b.len) < 0 || fsync(fd) < 0) {
		rc = err_set(BERR_IO, "write \"%s\": %s", tmp, strerror(errno));
		goto out;
	}
	if (close(fd) < 0) {
		fd = -1;
		rc = err_set(BERR_IO, "write \"%s\": %s", tmp, strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		rc = err_set(BERR_IO, "rename to \"%s\": %s", path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (rc < 0 && tmp)
		unlink(tmp);
	free(tmp);
	buf_release(&b);
	return rc;
}

char *cliconfig_server_url(const char *server, bool plaintext)
{
	char *u;
	size_t n;

	if (strstr(server, "://"))
		u = str_dup(server);
	else
		u = str_printf("%s://%s", plaintext ? "http" : "https", server);
	if (!u)
		return NULL;
	n = strlen(u);
	while (n > 0 && u[n - 1] == '/')
		u[--n] = '\0';
	return u;
}

json_t *cliconfig_context(const json_t *cfg, const char *server, bool plaintext)
{
	json_t *contexts = json_object_get(cfg, "contexts"), *ctx, *found = NULL;
	const char *name;
	char *url;

	if (!server) {
		name = jx_str(cfg, "current");
		return name ? json_object_get(contexts, name) : NULL;
	}
	if ((ctx = json_object_get(contexts, server)))
		return ctx;
	if (!(url = cliconfig_server_url(server, plaintext)))
		return NULL;
	json_object_foreach(contexts, name, ctx) {
		if (str_eq_null(jx_str(ctx, "server"), url)) {
			found = ctx;
			break;
		}
	}
	free(url);
	return found;
}

int cliconfig_set_context(json_t *cfg, const char *name, const char *url, const char *username,
			  const char *token, bool insecure)
{
	json_t *contexts = jx_obj_ensure(cfg, "contexts");
	json_t *ctx = json_pack("{s:s,s:s,s:s?,s:b}", "server", url, "token", token, "username", username,
				"insecure", insecure);
	if (!contexts || !ctx || json_object_set_new(contexts, name, ctx) < 0 ||
	    json_object_set_new(cfg, "current", json_string(name)) < 0)
		return err_set(BERR_NOMEM, "out of memory");
	return 0;
}
