/* subproc — see subproc.h. */
#include "subproc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "err.h"
#include "str.h"

#define SUBPROC_DEFAULT_TIMEOUT_MS 90000
#define SUBPROC_DEFAULT_MAX_OUTPUT ((size_t)50 << 20)

static bool is_executable_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

char *subproc_which(const char *name, const char *path_list)
{
	const char *p, *end;

	if (!name || !*name) {
		err_set(BERR_INVALID, "empty program name");
		return NULL;
	}
	if (strchr(name, '/')) {
		if (is_executable_file(name))
			return str_dup(name);
		err_set(BERR_NOTFOUND, "program \"%s\" not found", name);
		return NULL;
	}
	for (p = path_list ? path_list : ""; *p; p = *end ? end + 1 : end) {
		end = strchrnul(p, ':');
		if (end == p)
			continue;
		char *cand = str_printf("%.*s/%s", (int)(end - p), p, name);
		if (!cand) {
			err_set(BERR_NOMEM, "out of memory");
			return NULL;
		}
		if (is_executable_file(cand))
			return cand;
		free(cand);
	}
	err_set(BERR_NOTFOUND, "program \"%s\" not found in PATH", name);
	return NULL;
}

static const char *env_lookup(const char *const *env, const char *key)
{
	size_t n = strlen(key);

	for (; env && *env; env++)
		if (strncmp(*env, key, n) == 0 && (*env)[n] == '=')
			return *env + n + 1;
	return NULL;
}

/* In the child: only async-signal-safe calls from here to execve. */
static void child_exec(const char *path, const struct subproc_opts *o, int devnull, int out_w, int err_w)
{
	sigset_t none;

	setpgid(0, 0);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	signal(SIGXFSZ, SIG_DFL);
	if (dup2(devnull, 0) < 0 || dup2(out_w, 1) < 0 || dup2(err_w, 2) < 0)
		_exit(126);
	/* Everything else is O_CLOEXEC already; close the rest for good measure. */
	syscall(SYS_close_range, 3U, ~0U, 0U);
	if (o->cwd && chdir(o->cwd) < 0)
		_exit(126);
	if (o->max_memory) {
		struct rlimit l = {(rlim_t)o->max_memory, (rlim_t)o->max_memory};
		setrlimit(RLIMIT_AS, &l);
	}
	if (o->max_file_size) {
		struct rlimit l = {(rlim_t)o->max_file_size, (rlim_t)o->max_file_size};
		setrlimit(RLIMIT_FSIZE, &l);
	}
	execve(path, (char *const *)o->argv, (char *const *)o->env);
	_exit(127);
}

/* Reads what is available on fd into b; returns 1 at EOF, 0 when more may
 * come, BERR_TOOLARGE past the cap. */
static int drain(int fd, struct buf *b)
{
	char chunk[16384];
	ssize_t n = read(fd, chunk, sizeof(chunk));

	if (n == 0)
		return 1;
	if (n < 0)
		return (errno == EINTR || errno == EAGAIN) ? 0 : 1;
	if (buf_append(b, chunk, (size_t)n) < 0)
		return BERR_TOOLARGE;
	return 0;
}

static void kill_group(pid_t pid)
{
	kill(-pid, SIGKILL);
	kill(pid, SIGKILL);
}

/* Pumps both pipes until both close, the deadline passes or a cap is hit.
 * Reaps the child as soon as it exits and then kills the rest of its group,
 * so a grandchild holding the pipes open cannot stall us. */
static int pump(pid_t pid, int fds[2], struct subproc_result *r, int64_t deadline, int *status,
		bool *reaped)
{
	struct buf *bufs[2] = {&r->out, &r->err};
	bool open_[2] = {true, true};

	while (open_[0] || open_[1]) {
		struct pollfd pfd[2];
		nfds_t n = 0;
		int idx[2];
		int64_t left = deadline - clock_mono_ms();

		if (left <= 0) {
			kill_group(pid);
			return BERR_TIMEOUT;
		}
		for (int i = 0; i < 2; i++)
			if (open_[i]) {
				pfd[n].fd = fds[i];
				pfd[n].events = POLLIN;
				idx[n++] = i;
			}
		int pr = poll(pfd, n, left > 50 ? 50 : (int)left);
		if (pr < 0 && errno != EINTR) {
			kill_group(pid);
			return BERR_IO;
		}
		for (nfds_t k = 0; pr > 0 && k < n; k++) {
			if (!(pfd[k].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			int d = drain(pfd[k].fd, bufs[idx[k]]);
			if (d == BERR_TOOLARGE) {
				kill_group(pid);
				return BERR_TOOLARGE;
			}
			if (d == 1)
				open_[idx[k]] = false;
		}
		if (!*reaped && pr == 0 && waitpid(pid, status, WNOHANG) == pid) {
			*reaped = true;
			kill(-pid, SIGKILL);
		}
	}
	return 0;
}

/* Waits for pid until deadline (then kills and waits for good). */
static int reap(pid_t pid, int64_t deadline, int *status)
{
	for (;;) {
		pid_t w = waitpid(pid, status, WNOHANG);
		if (w == pid)
			return 0;
		if (w < 0 && errno != EINTR)
			return BERR_IO;
		if (clock_mono_ms() >= deadline) {
			kill_group(pid);
			while (waitpid(pid, status, 0) < 0 && errno == EINTR)
				;
			return BERR_TIMEOUT;
		}
		clock_sleep_ms(1);
	}
}

int subproc_run(const struct subproc_opts *o, struct subproc_result *r)
{
	size_t cap = o->max_output ? o->max_output : SUBPROC_DEFAULT_MAX_OUTPUT;
	int64_t timeout = o->timeout_ms > 0 ? o->timeout_ms : SUBPROC_DEFAULT_TIMEOUT_MS;
	int outp[2] = {-1, -1}, errp[2] = {-1, -1}, devnull = -1;
	char *path = NULL;
	pid_t pid;
	int rc, status = 0;

	r->exit_code = -1;
	r->term_signal = 0;
	buf_init(&r->out, cap);
	buf_init(&r->err, cap);
	if (!o->argv || !o->argv[0])
		return err_set(BERR_INVALID, "subprocess: empty argv");
	path = subproc_which(o->argv[0], env_lookup(o->env, "PATH"));
	if (!path)
		return err_code();
	if (pipe2(outp, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0 ||
	    (devnull = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) {
		rc = err_set(BERR_IO, "subprocess %s: %s", o->argv[0], strerror(errno));
		goto out;
	}
	int64_t deadline = clock_mono_ms() + timeout;
	pid = fork();
	if (pid < 0) {
		rc = err_set(BERR_IO, "subprocess %s: fork: %s", o->argv[0], strerror(errno));
		goto out;
	}
	if (pid == 0)
		child_exec(path, o, devnull, outp[1], errp[1]);
	/* Also set the group from the parent side so kill(-pid) works at once. */
	setpgid(pid, pid);
	close(outp[1]);
	close(errp[1]);
	outp[1] = errp[1] = -1;

	int fds[2] = {outp[0], errp[0]};
	bool reaped = false;
	rc = pump(pid, fds, r, deadline, &status, &reaped);
	if (!reaped) {
		int wrc = reap(pid, rc == 0 ? deadline : clock_mono_ms() + 5000, &status);
		if (rc == 0 && wrc < 0)
			rc = wrc;
	}
	kill(-pid, SIGKILL); /* leftovers of the group, if any */
	if (WIFEXITED(status))
		r->exit_code = WEXITSTATUS(status);
	else if (WIFSIGNALED(status))
		r->term_signal = WTERMSIG(status);
	if (rc == BERR_TIMEOUT)
		err_set(rc, "%s: timed out after %lld ms, killed", o->argv[0], (long long)timeout);
	else if (rc == BERR_TOOLARGE)
		err_set(rc, "%s: output passed the %zu-byte limit, killed", o->argv[0], cap);
	else if (rc < 0)
		err_set(rc, "%s: %s", o->argv[0], strerror(errno));
	else if (r->exit_code == 127 && r->out.len == 0 && r->err.len == 0)
		rc = err_set(BERR_NOTFOUND, "%s: could not be executed", o->argv[0]);
out:
	free(path);
	for (int i = 0; i < 2; i++) {
		if (outp[i] >= 0)
			close(outp[i]);
		if (errp[i] >= 0)
			close(errp[i]);
	}
	if (devnull >= 0)
		close(devnull);
	return rc;
}

void subproc_result_release(struct subproc_result *r)
{
	if (!r)
		return;
	buf_release(&r->out);
	buf_release(&r->err);
}
