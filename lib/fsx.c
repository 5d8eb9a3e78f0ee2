/* fsx — see fsx.h. */
#include "fsx.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "str.h"

int fsx_private_dir(const char *base, const char *prefix, char **ret)
{
	char *tmpl = str_printf("%s/%sXXXXXXXX", base, prefix);

	if (!tmpl)
		return err_set(BERR_NOMEM, "out of memory");
	if (!mkdtemp(tmpl)) {
		int rc = err_set(BERR_IO, "create scratch folder in \"%s\": %s", base, strerror(errno));
		free(tmpl);
		return rc;
	}
	*ret = tmpl;
	return 0;
}

static int remove_at(int parent, const char *name, int depth)
{
	struct stat st;

	if (depth > 256)
		return err_set(BERR_IO, "remove: tree too deep");
	if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : err_set(BERR_IO, "remove \"%s\": %s", name, strerror(errno));
	if (S_ISDIR(st.st_mode)) {
		int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		DIR *d;
		struct dirent *de;
		int rc = 0;

		if (fd < 0)
			return err_set(BERR_IO, "remove \"%s\": %s", name, strerror(errno));
		fchmod(fd, 0700);
		if (!(d = fdopendir(fd))) {
			close(fd);
			return err_set(BERR_IO, "remove \"%s\": %s", name, strerror(errno));
		}
		while ((de = readdir(d))) {
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			if ((rc = remove_at(dirfd(d), de->d_name, depth + 1)) < 0)
				break;
		}
		closedir(d);
		if (rc < 0)
			return rc;
		if (unlinkat(parent, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
			return err_set(BERR_IO, "remove \"%s\": %s", name, strerror(errno));
		return 0;
	}
	if (unlinkat(parent, name, 0) < 0 && errno != ENOENT)
		return err_set(BERR_IO, "remove \"%s\": %s", name, strerror(errno));
	return 0;
}

int fsx_remove_tree(const char *path)
{
	return remove_at(AT_FDCWD, path, 0);
}

int fsx_read_file(const char *path, struct buf *out)
{
	char chunk[65536];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	int rc = 0;

	if (fd < 0)
		return err_set(errno == ENOENT ? BERR_NOTFOUND : BERR_IO, "read \"%s\": %s", path, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return err_set(BERR_IO, "read \"%s\": not a regular file", path);
	}
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = err_set(BERR_IO, "read \"%s\": %s", path, strerror(errno));
			break;
		}
		if (n == 0)
			break;
		if ((rc = buf_append(out, chunk, (size_t)n)) < 0) {
			err_prefix(rc, "read \"%s\"", path);
			break;
		}
	}
	close(fd);
	return rc;
}

bool fsx_is_inside(const char *root, const char *path)
{
	size_t n = strlen(root);

	if (n == 1 && root[0] == '/')
		return path[0] == '/';
	return !strncmp(root, path, n) && (path[n] == '\0' || path[n] == '/');
}

/* Normalises an absolute path textually ("." and ".." removed). */
static int lexical_normalise(const char *in, char *out, size_t size)
{
	size_t len = 0;
	const char *p = in;

	if (size < 2)
		return -1;
	out[0] = '\0';
	while (*p) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		const char *end = strchrnul(p, '/');
		size_t n = (size_t)(end - p);
		if (n == 1 && p[0] == '.') {
		} else if (n == 2 && p[0] == '.' && p[1] == '.') {
			while (len > 0 && out[len - 1] != '/')
				len--;
			if (len > 0)
				len--;
			out[len] = '\0';
		} else {
			if (len + 1 + n + 1 > size)
				return -1;
			out[len++] = '/';
			memcpy(out + len, p, n);
			len += n;
			out[len] = '\0';
		}
		p = end;
	}
	if (len == 0) {
		out[0] = '/';
		out[1] = '\0';
	}
	return 0;
}

bool fsx_link_stays_inside(const char *root, const char *link_path)
{
	char resolved[PATH_MAX], target[PATH_MAX], joined[PATH_MAX * 2], norm[PATH_MAX * 2];
	ssize_t n;

	if (realpath(link_path, resolved))
		return fsx_is_inside(root, resolved);
	if (errno != ENOENT)
		return false; /* loops and the like */
	n = readlink(link_path, target, sizeof(target) - 1);
	if (n < 0)
		return false;
	target[n] = '\0';
	if (target[0] == '/')
		return false;
	/* Dangling: judge the target text relative to the link's folder. */
	const char *slash = strrchr(link_path, '/');
	int dlen = slash ? (int)(slash - link_path) : 0;
	char dir[PATH_MAX];
	if (!slash || dlen >= (int)sizeof(dir))
		return false;
	memcpy(dir, link_path, (size_t)dlen);
	dir[dlen] = '\0';
	char rdir[PATH_MAX];
	if (!realpath(dir, rdir))
		return false;
	size_t jl = str_copy(joined, rdir, sizeof(joined));
	if (jl + 1 + (size_t)n + 1 > sizeof(joined))
		return false;
	joined[jl] = '/';
	memcpy(joined + jl + 1, target, (size_t)n + 1);
	if (lexical_normalise(joined, norm, sizeof(norm)) < 0)
		return false;
	return fsx_is_inside(root, norm);
}

int fsx_confine(const char *root, const char *rel, char **ret)
{
	char resolved[PATH_MAX];
	char *joined;

	if (!rel)
		rel = "";
	if (rel[0] == '/' || strstr(rel, "://") || strchr(rel, '%') || strlen(rel) > 1024)
		return err_set(BERR_FORBIDDEN, "path \"%.200s\" is outside repository root", rel);
	if (!(joined = str_printf("%s/%s", root, rel)))
		return err_set(BERR_NOMEM, "out of memory");
	if (!realpath(joined, resolved)) {
		int e = errno;
		char norm[PATH_MAX * 2];
		free(joined);
		/* A missing path that would still escape is reported as escaping. */
		char *j2 = str_printf("%s/%s", root, rel);
		bool escapes = !j2 || lexical_normalise(j2, norm, sizeof(norm)) < 0 || !fsx_is_inside(root, norm);
		free(j2);
		if (escapes)
			return err_set(BERR_FORBIDDEN, "path \"%.200s\" is outside repository root", rel);
		return err_set(e == ENOENT ? BERR_NOTFOUND : BERR_FORBIDDEN, "path \"%.200s\" %s", rel,
			       e == ENOENT ? "does not exist" : "cannot be resolved");
	}
	free(joined);
	if (!fsx_is_inside(root, resolved))
		return err_set(BERR_FORBIDDEN, "path \"%.200s\" is outside repository root", rel);
	if (!(*ret = strdup(resolved)))
		return err_set(BERR_NOMEM, "out of memory");
	return 0;
}
