/*
 * subproc — run an external program (helm, kustomize, git) safely.
 *
 * The repo server runs untrusted tools on untrusted input (SECURITY.md,
 * "subprocess abuse"), so every child is started the same careful way:
 * fork/exec with an explicit argv (never a shell), an explicit environment
 * (the caller passes the complete list; nothing of the parent's leaks), its
 * own process group, stdin from /dev/null, all other descriptors closed, a
 * working directory, a deadline after which the whole process group gets
 * SIGKILL, and stdout/stderr captured into bounded buffers. Output past the
 * cap also kills the group. After the child exits the group is killed too,
 * so a tool cannot leave a daemonised grandchild behind.
 *
 *     const char *argv[] = {"helm", "template", "web", ".", NULL};
 *     const char *env[] = {"PATH=/usr/bin", "HOME=/tmp/x", NULL};
 *     struct subproc_opts o = {.argv = argv, .env = env, .cwd = dir,
 *                              .timeout_ms = 90000, .max_output = 50 << 20};
 *     struct subproc_result r;
 *     rc = subproc_run(&o, &r);   // r.out, r.err, r.exit_code
 *     subproc_result_release(&r);
 */
#ifndef BERTH_SUBPROC_H
#define BERTH_SUBPROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct subproc_opts {
	const char *const *argv; /* NULL-terminated; argv[0] a path or a name looked up in env's PATH */
	const char *const *env;  /* NULL-terminated "KEY=VALUE" list: the child's whole environment */
	const char *cwd;         /* working directory, or NULL for the parent's */
	int64_t timeout_ms;      /* <= 0: 90 s */
	size_t max_output;       /* cap for stdout and for stderr each; 0: 50 MB */
	uint64_t max_memory;     /* RLIMIT_AS of the child; 0: none */
	uint64_t max_file_size;  /* RLIMIT_FSIZE (largest file it may write); 0: none */
};

struct subproc_result {
	int exit_code;     /* exit status when the child exited normally, else -1 */
	int term_signal;   /* signal that ended it, else 0 */
	struct buf out;    /* captured stdout (NUL-terminated) */
	struct buf err;    /* captured stderr */
};

/* Runs the program and waits for it. Returns 0 when the child ran to an end
 * of its own (check r->exit_code; a non-zero exit is not an error here),
 * BERR_TIMEOUT when the deadline passed (group killed), BERR_TOOLARGE when
 * stdout or stderr passed the cap (group killed), BERR_NOTFOUND when the
 * program is not found in PATH, BERR_IO when the system refused (pipes,
 * fork). r is initialised in every case (release it); on BERR_TIMEOUT and
 * BERR_TOOLARGE it holds what was captured so far. */
int subproc_run(const struct subproc_opts *o, struct subproc_result *r);

/* Frees the captured output. */
void subproc_result_release(struct subproc_result *r);

/* Looks up name in the colon-separated path list (name containing '/' is
 * checked as is). Returns a newly allocated path to an executable regular
 * file, or NULL (BERR_NOTFOUND recorded). */
char *subproc_which(const char *name, const char *path_list);

#endif
