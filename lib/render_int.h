/*
 * render_int — what the parts of the render module share (render.c: detect,
 * directory, collection, tool runner; render_tools.c: Helm and Kustomize;
 * render_jsonnet.c: Jsonnet). Not for use outside lib/render*.c.
 */
#ifndef BERTH_RENDER_INT_H
#define BERTH_RENDER_INT_H

#include <jansson.h>
#include <limits.h>

#include "buf.h"
#include "render.h"

struct render_ctx {
	const struct render_opts *o;
	char app_dir[PATH_MAX]; /* resolved app folder, inside o->root */
	char *scratch;          /* private scratch folder (removed at the end) */
	char *env[16];          /* tool environment, NULL-terminated */
	struct render_counters *counters;
	json_t *out;            /* the objects so far */
};

/* Runs a tool (argv[0] looked up in the tool PATH) in cwd; its stdout is
 * appended to out. A non-zero exit is BERR_INVALID with "<tool> failed:
 * <trimmed stderr>". */
int render_tool(struct render_ctx *c, const char *const *argv, const char *cwd, struct buf *out);

/* Parses a YAML stream produced by file/tool label and collects its
 * documents into c->out (bounded). */
int render_add_yaml(struct render_ctx *c, const char *data, size_t len, const char *label);

/* Text for messages with the scratch and root paths replaced. Newly
 * allocated. */
char *render_scrub(const struct render_ctx *c, const char *text, size_t max);

int render_helm(struct render_ctx *c);
int render_kustomize(struct render_ctx *c);
int render_jsonnet_file(struct render_ctx *c, const char *abs_path, const char *label);

#endif
