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

struct copy_state {
	char root[PATH_MAX]; /* resolved src */
	size_t files, max_files, bytes, max_bytes;
};

static int copy_file(const char *from, const char *to, mode_t mode, struct copy_state *cs)
{
	char chunk[65536];
	int in = open(from, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), out = -1, rc = 0;

	if (in < 0)
		return err_set(BERR_IO, "copy: %s", strerror(errno));
	out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode & 0755);
	if (out < 0) {
		close(in);
		return err_set(BERR_IO, "copy: %s", strerror(errno));
	}
	for (;;) {
		ssize_t n = read(in, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n < 0)
				rc = err_set(BERR_IO, "copy: %s", strerror(errno));
			break;
		}
		cs->bytes += (size_t)n;
		if (cs->bytes > cs->max_bytes) {
			rc = err_set(BERR_TOOLARGE, "folder is larger than %zu bytes", cs->max_bytes);
			break;
		}
		if (write(out, chunk, (size_t)n) != n) {
			rc = err_set(BERR_IO, "copy: %s", strerror(errno));
			break;
		}
	}
	close(in);
	close(out);
	return rc;
}

static int copy_dir(const char *src, const char *dst, const char *rel, struct copy_state *cs, int depth)
{
	DIR *d;
	struct dirent *de;
	int rc = 0;

	if (depth > 64)
		return err_set(BERR_TOOLARGE, "folder nested too deep");
	if (!(d = opendir(src)))
		return err_set(BERR_IO, "read folder \"%s\": %s", *rel ? rel : ".", strerror(errno));
	while (rc == 0 && (de = readdir(d))) {
		struct stat st;
		char *from, *to, *crel;
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") || (depth == 0 && str_starts_with(de->d_name, ".git")))
			continue;
		if (++cs->files > cs->max_files) {
			rc = err_set(BERR_TOOLARGE, "folder has more than %zu entries", cs->max_files);
			break;
		}
		from = str_printf("%s/%s", src, de->d_name);
		to = str_printf("%s/%s", dst, de->d_name);
		crel = *rel ? str_printf("%s/%s", rel, de->d_name) : str_printf("%s", de->d_name);
		if (!from || !to || !crel)
			rc = err_set(BERR_NOMEM, "out of memory");
		else if (lstat(from, &st) < 0)
			rc = err_set(BERR_IO, "copy \"%s\": %s", crel, strerror(errno));
		else if (S_ISLNK(st.st_mode)) {
			char target[PATH_MAX];
			ssize_t n = readlink(from, target, sizeof(target) - 1);
			if (n < 0 || !fsx_link_stays_inside(cs->root, from))
				rc = err_set(BERR_FORBIDDEN, "symlink \"%s\" points outside the repository root", crel);
			else {
				target[n] = '\0';
				if (symlink(target, to) < 0)
					rc = err_set(BERR_IO, "copy \"%s\": %s", crel, strerror(errno));
			}
		} else if (S_ISDIR(st.st_mode)) {
			if (mkdir(to, 0755) < 0)
				rc = err_set(BERR_IO, "copy \"%s\": %s", crel, strerror(errno));
			else
				rc = copy_dir(from, to, crel, cs, depth + 1);
		} else if (S_ISREG(st.st_mode)) {
			rc = copy_file(from, to, st.st_mode, cs);
		}
		free(from);
		free(to);
		free(crel);
	}
	closedir(d);
	return rc;
}

int fsx_copy_tree(const char *src, const char *dst, size_t max_files, size_t max_bytes)
{
	struct copy_state cs = {.max_files = max_files ? max_files : 100000,
				.max_bytes = max_bytes ? max_bytes : (size_t)1 << 30};

	if (!realpath(src, cs.root))
		return err_set(BERR_NOTFOUND, "folder \"%s\": %s", src, strerror(errno));
	return copy_dir(cs.root, dst, "", &cs, 0);
}
