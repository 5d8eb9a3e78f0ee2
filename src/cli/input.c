/* Reading manifest files and writing output for the CLI commands (cli.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "err.h"
#include "jsonx.h"
#include "kyaml.h"
#include "str.h"

/* Reads all of fd into b (bounded by b's max). */
static int read_all(int fd, struct buf *b, const char *path)
{
	char chunk[65536];

	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_set(BERR_IO, "read \"%s\": %s", path, strerror(errno));
		if (n == 0)
			return 0;
		if (buf_append(b, chunk, (size_t)n) < 0)
			return err_set(BERR_TOOLARGE, "\"%s\": larger than %zu bytes", path, b->max);
	}
}

const char *cli_object_label(const json_t *obj, char *out, size_t size)
{
	const char *kind = jx_str(obj, "kind");
	const char *name = jx_path_str(obj, "metadata", "name", NULL);
	if (!name)
		name = jx_path_str(obj, "metadata", "generateName", NULL);
	snprintf(out, size, "%s/%s", kind ? kind : "?", name ? name : "?");
	return out;
}

static int add_object(json_t *objs, json_t *doc, const char *path, size_t idx)
{
	const char *kind = jx_str(doc, "kind");

	if (!json_is_object(doc))
		return err_set(BERR_INVALID, "\"%s\": document %zu is not a map", path, idx + 1);
	if (!kind || !jx_str(doc, "apiVersion"))
		return err_set(BERR_INVALID, "\"%s\": document %zu has no apiVersion and kind", path, idx + 1);
	/* "List" kinds (v1 List, ConfigMapList, ...) carry their objects in items */
	if (str_ends_with(kind, "List") && json_is_array(json_object_get(doc, "items"))) {
		size_t i;
		json_t *item;
		json_array_foreach(json_object_get(doc, "items"), i, item) {
			if (!json_is_object(item) || !jx_str(item, "kind") || !jx_str(item, "apiVersion"))
				return err_set(BERR_INVALID, "\"%s\": document %zu: items[%zu] has no apiVersion and kind",
					       path, idx + 1, i);
			if (json_array_append(objs, item) < 0)
				return err_set(BERR_NOMEM, "out of memory");
		}
		return 0;
	}
	if (strcmp(kind, "List") == 0)
		return 0;
	if (json_array_append(objs, doc) < 0)
		return err_set(BERR_NOMEM, "out of memory");
	return 0;
}

int cli_load_objects(const char *path, json_t **objs)
{
	struct buf b;
	json_t *docs = NULL, *doc, *found = NULL;
	const char *p;
	size_t i;
	int fd = -1, rc;

	buf_init(&b, CLI_MAX_INPUT);
	if (strcmp(path, "-") == 0) {
		fd = STDIN_FILENO;
	} else if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		rc = err_set(BERR_IO, "open \"%s\": %s", path, strerror(errno));
		goto out;
	}
	if ((rc = read_all(fd, &b, path)) < 0)
		goto out;
	for (p = b.ptr; *p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'; p++)
		;
	if (*p == '{' || *p == '[') {
		/* JSON: one object or a list of objects */
		if ((rc = kyaml_load_any(b.ptr, b.len, NULL, &doc)) < 0) {
			rc = err_prefix(rc, "\"%s\"", path);
			goto out;
		}
		if (json_is_array(doc)) {
			docs = doc;
		} else {
			docs = json_array();
			json_array_append_new(docs, doc);
		}
	} else if ((rc = kyaml_load_stream(b.ptr, b.len, NULL, &docs)) < 0) {
		rc = err_prefix(rc, "\"%s\"", path);
		goto out;
	}
	if (!(found = json_array())) {
		rc = err_set(BERR_NOMEM, "out of memory");
		goto out;
	}
	json_array_foreach(docs, i, doc) {
		if (json_is_null(doc))
			continue;
		if ((rc = add_object(found, doc, path, i)) < 0)
			goto out;
	}
	if (!*objs) {
		*objs = found;
		found = NULL;
	} else if (json_array_extend(*objs, found) < 0) {
		rc = err_set(BERR_NOMEM, "out of memory");
		goto out;
	}
	rc = 0;
out:
	json_decref(found);
	json_decref(docs);
	if (fd > STDIN_FILENO)
		close(fd);
	buf_release(&b);
	return rc;
}

bool cli_write_out(const struct buf *b)
{
	return fwrite(b->ptr, 1, b->len, stdout) == b->len && fflush(stdout) == 0;
}

int cli_load_value(const char *path, json_t **ret)
{
	struct buf b;
	int fd = -1, rc;

	buf_init(&b, CLI_MAX_INPUT);
	if (strcmp(path, "-") == 0) {
		fd = STDIN_FILENO;
	} else if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		rc = err_set(BERR_IO, "open \"%s\": %s", path, strerror(errno));
		goto out;
	}
	if ((rc = read_all(fd, &b, path)) < 0)
		goto out;
	if ((rc = kyaml_load_any(b.ptr, b.len, NULL, ret)) < 0)
		rc = err_prefix(rc, "\"%s\"", path);
out:
	if (fd > STDIN_FILENO)
		close(fd);
	buf_release(&b);
	return rc;
}
