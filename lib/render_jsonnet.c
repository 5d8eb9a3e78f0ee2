/* render — Jsonnet, evaluated in-process with libjsonnet (see render.h).
 *
 * libjsonnet's default importer reads any file on the machine (`importstr
 * "/etc/passwd"`), so we install our own import callback: it looks next to
 * the importing file and then in the source's library paths, resolves the
 * candidate with realpath() and refuses anything outside the repository.
 * Library paths themselves are confined the same way. Deep recursion is
 * bounded by the VM's stack limit. */
#include <errno.h>
#include <fcntl.h>
#include <libjsonnet.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "clock.h"
#include "err.h"
#include "fsx.h"
#include "jsonx.h"
#include "render_int.h"
#include "str.h"

#define MAX_JPATHS 32
#define MAX_IMPORT_BYTES ((size_t)16 << 20)

struct jsonnet_import {
	struct render_ctx *c;
	struct JsonnetVm *vm;
	char *jpaths[MAX_JPATHS];
	size_t njpaths;
};

static char *vm_strdup(struct JsonnetVm *vm, const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = jsonnet_realloc(vm, NULL, n);
	if (p)
		memcpy(p, s, n);
	return p;
}

static char *import_fail(struct JsonnetVm *vm, int *success, const char *msg)
{
	*success = 0;
	return vm_strdup(vm, msg);
}

static char *import_cb(void *ctxp, const char *base, const char *rel, char **found_here, int *success)
{
	struct jsonnet_import *im = ctxp;
	const char *root = im->c->o->root;

	if (!rel || rel[0] == '/' || strstr(rel, "://"))
		return import_fail(im->vm, success, "import is outside repository root");
	for (size_t i = 0; i <= im->njpaths; i++) {
		const char *dir = i == 0 ? base : im->jpaths[i - 1];
		char resolved[PATH_MAX];
		char *cand = str_printf("%s/%s", dir && *dir ? dir : ".", rel);
		struct stat st;
		if (!cand)
			return import_fail(im->vm, success, "out of memory");
		if (!realpath(cand, resolved)) {
			free(cand);
			continue;
		}
		free(cand);
		if (!fsx_is_inside(root, resolved))
			return import_fail(im->vm, success, "import is outside repository root");
		if (stat(resolved, &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		struct buf data;
		buf_init(&data, MAX_IMPORT_BYTES);
		if (fsx_read_file(resolved, &data) < 0) {
			buf_release(&data);
			return import_fail(im->vm, success, "import cannot be read");
		}
		char *content = jsonnet_realloc(im->vm, NULL, data.len + 1);
		if (content)
			memcpy(content, data.ptr, data.len + 1);
		buf_release(&data);
		*found_here = vm_strdup(im->vm, resolved);
		*success = content && *found_here;
		return content ? content : vm_strdup(im->vm, "out of memory");
	}
	return import_fail(im->vm, success, "import not found");
}

/* extVars / tlas: [{name, value, code}] */
static int bind_vars(struct JsonnetVm *vm, const json_t *list, bool tla)
{
	size_t i;
	json_t *v;

	json_array_foreach(list, i, v) {
		const char *name = jx_str(v, "name"), *value = jx_str(v, "value");
		bool code = json_is_true(json_object_get(v, "code"));
		if (!name || !*name || !value)
			return err_set(BERR_INVALID, "jsonnet %s: entry needs name and value", tla ? "tlas" : "extVars");
		if (tla)
			(code ? jsonnet_tla_code : jsonnet_tla_var)(vm, name, value);
		else
			(code ? jsonnet_ext_code : jsonnet_ext_var)(vm, name, value);
	}
	return 0;
}

#define JSONNET_MEMORY_LIMIT ((rlim_t)4 << 30)

static void child_write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			_exit(3);
		p += w;
		n -= (size_t)w;
	}
}

/* Runs jsonnet_evaluate_file in a child; *ok says whether it evaluated (out
 * then holds JSON) or failed (out holds the error text). */
static int evaluate_isolated(struct render_ctx *c, struct JsonnetVm *vm, const char *abs_path, struct buf *out,
			     bool *ok)
{
	int64_t timeout = c->o->exec_timeout_ms > 0 ? c->o->exec_timeout_ms : 90000;
	int64_t deadline = clock_mono_ms() + timeout;
	int p[2], status = 0, rc = 0;
	char flag = 0;
	bool have_flag = false;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return err_set(BERR_IO, "jsonnet: pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return err_set(BERR_IO, "jsonnet: fork: %s", strerror(errno));
	}
	if (pid == 0) {
		int error = 0;
		close(p[0]);
#ifndef __SANITIZE_ADDRESS__
		struct rlimit lim = {JSONNET_MEMORY_LIMIT, JSONNET_MEMORY_LIMIT};
		setrlimit(RLIMIT_AS, &lim);
#endif
		char *res = jsonnet_evaluate_file(vm, abs_path, &error);
		child_write_all(p[1], error ? "E" : "J", 1);
		if (res)
			child_write_all(p[1], res, strlen(res));
		_exit(0);
	}
	close(p[1]);
	for (;;) {
		int64_t left = deadline - clock_mono_ms();
		char chunk[65536];
		if (left <= 0) {
			rc = err_set(BERR_TIMEOUT, "jsonnet: evaluation took longer than %lld ms, stopped", (long long)timeout);
			break;
		}
		struct pollfd pfd = {.fd = p[0], .events = POLLIN};
		if (poll(&pfd, 1, left > 1000 ? 1000 : (int)left) <= 0)
			continue;
		ssize_t n = read(p[0], chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		size_t skip = 0;
		if (!have_flag) {
			flag = chunk[0];
			have_flag = true;
			skip = 1;
		}
		if (buf_append(out, chunk + skip, (size_t)n - skip) < 0) {
			rc = err_set(BERR_TOOLARGE, "jsonnet: output passed the %zu-byte limit", out->max);
			break;
		}
	}
	close(p[0]);
	kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (rc == 0 && !have_flag)
		rc = err_set(BERR_TOOLARGE, "jsonnet: evaluation died (out of memory?)");
	*ok = flag == 'J';
	return rc;
}

int render_jsonnet_file(struct render_ctx *c, const char *abs_path, const char *label)
{
	const json_t *js = jx_path(c->o->source, "directory", "jsonnet", NULL);
	struct jsonnet_import im = {.c = c};
	json_t *v = NULL;
	struct buf out;
	bool ok = false;
	int rc = 0;
	size_t i;
	json_t *lib;

	buf_init(&out, c->o->max_manifest_bytes ? c->o->max_manifest_bytes : JX_MAX_BYTES);
	if (!(im.vm = jsonnet_make()))
		return err_set(BERR_NOMEM, "out of memory");
	jsonnet_max_stack(im.vm, 500);
	jsonnet_max_trace(im.vm, 20);
	jsonnet_import_callback(im.vm, import_cb, &im);
	json_array_foreach(json_object_get(js, "libs"), i, lib) {
		char *resolved = NULL;
		if (!json_is_string(lib) || im.njpaths >= MAX_JPATHS) {
			rc = err_set(BERR_INVALID, "jsonnet libs: bad entry");
			goto out;
		}
		if ((rc = fsx_confine(c->o->root, json_string_value(lib), &resolved)) < 0) {
			err_prefix(rc, "jsonnet library path");
			goto out;
		}
		im.jpaths[im.njpaths++] = resolved;
	}
	if ((rc = bind_vars(im.vm, json_object_get(js, "extVars"), false)) < 0 ||
	    (rc = bind_vars(im.vm, json_object_get(js, "tlas"), true)) < 0)
		goto out;
	if ((rc = evaluate_isolated(c, im.vm, abs_path, &out, &ok)) < 0) {
		err_prefix(rc, "%s", label);
		goto out;
	}
	if (!ok) {
		char *msg = render_scrub(c, out.ptr, 1500);
		rc = err_set(BERR_INVALID, "%s: jsonnet: %s", label, msg ? msg : "");
		free(msg);
		goto out;
	}
	if ((rc = jx_parse(out.ptr, out.len, out.max, JX_MAX_DEPTH, &v)) < 0) {
		err_prefix(rc, "%s", label);
		goto out;
	}
	rc = render_collect(c->out, v, label);
out:
	json_decref(v);
	buf_release(&out);
	for (size_t k = 0; k < im.njpaths; k++)
		free(im.jpaths[k]);
	jsonnet_destroy(im.vm);
	return rc;
}
