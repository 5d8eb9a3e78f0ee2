/* The dashboard's static files (--static-dir), with the security headers
 * of SECURITY.md (XSS, clickjacking): Content-Security-Policy
 * default-src 'self', nosniff, frame denial, no referrer. Paths are
 * confined to the folder (lib/fsx); an unknown path that is not an API
 * path gets index.html, so the single-page app's own routes load. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "fsx.h"
#include "server.h"
#include "str.h"

#define STATIC_MAX_FILE (16u << 20)

struct static_dir {
	char *root;                  /* realpath of --static-dir, or NULL */
};

static struct static_dir dir;

int static_init(const char *path)
{
	char real[PATH_MAX];

	if (!path)
		return 0;
	if (!realpath(path, real))
		return err_set(BERR_NOTFOUND, "--static-dir \"%s\": not found", path);
	dir.root = str_dup(real);
	return dir.root ? 0 : err_set(BERR_NOMEM, "out of memory");
}

void static_release(void)
{
	free(dir.root);
	dir.root = NULL;
}

static const char *mime_of(const char *path)
{
	static const char *const map[][2] = {
		{".html", "text/html; charset=utf-8"}, {".js", "text/javascript; charset=utf-8"},
		{".css", "text/css; charset=utf-8"},   {".json", "application/json"},
		{".svg", "image/svg+xml"},             {".png", "image/png"},
		{".ico", "image/x-icon"},              {".woff2", "font/woff2"},
		{".txt", "text/plain; charset=utf-8"},
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(*map); i++)
		if (str_ends_with(path, map[i][0]))
			return map[i][1];
	return "application/octet-stream";
}

static void security_headers(struct httpd_req *req)
{
	httpd_add_header(req, "Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'");
	httpd_add_header(req, "X-Content-Type-Options", "nosniff");
	httpd_add_header(req, "X-Frame-Options", "DENY");
	httpd_add_header(req, "Referrer-Policy", "no-referrer");
}

void api_static(struct httpd_req *req, void *ud)
{
	const char *path = httpd_req_path(req);
	char *file = NULL;
	struct buf b;

	(void)ud;
	if (!dir.root || str_starts_with(path, "/api/") || !strcmp(path, "/api") ||
	    (strcmp(httpd_req_method(req), "GET") && strcmp(httpd_req_method(req), "HEAD"))) {
		httpd_respond_error(req, 404, "not found");
		return;
	}
	while (*path == '/')
		path++;
	if (!*path || fsx_confine(dir.root, path, &file) < 0 || str_ends_with(file, "/") ||
	    !str_starts_with(file, dir.root)) {
		free(file);
		file = str_printf("%s/index.html", dir.root);
	}
	buf_init(&b, STATIC_MAX_FILE);
	if (!file || fsx_read_file(file, &b) < 0) {
		/* A folder, or no index.html. */
		free(file);
		file = str_printf("%s/index.html", dir.root);
		buf_reset(&b);
		if (!file || fsx_read_file(file, &b) < 0) {
			httpd_respond_error(req, 404, "not found");
			goto out;
		}
	}
	security_headers(req);
	httpd_respond(req, 200, mime_of(file), b.ptr, b.len);
out:
	buf_release(&b);
	free(file);
}
