/*
 * daemonopts — the command line of Berth's daemons (DESIGN.md §9).
 *
 * Every daemon takes the same common flags (--listen, --redis,
 * --redis-password-file, --server-secret-file, --log-level, --log-format,
 * --version, --help) plus flags of its own. daemonopts_parse() reads both
 * in one pass: the common ones into a struct daemon_opts, the daemon's own
 * ones through a table of struct daemon_flag that names each flag, how its
 * value is checked and where it goes. Flags are "--name VALUE" (a boolean
 * flag takes no value); the first unknown flag, missing value or bad value
 * stops the parse with BERR_INVALID and a message naming the flag.
 *
 * The module never prints and never exits: --help and --version are
 * returned to the caller, which prints its own usage text (the text the man
 * page and t0161 are checked against) or version. DAEMONOPTS_USAGE_COMMON
 * holds the help lines every daemon shares, so they read the same in all.
 *
 * daemonopts_read_secret() reads the files that --redis-password-file and
 * --server-secret-file name; daemonopts_open_cache() turns --redis and those
 * two files into the signed Redis cache client (lib/rcache) every daemon
 * uses.
 */
#ifndef BERTH_DAEMONOPTS_H
#define BERTH_DAEMONOPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"
#include "rcache.h"

/* The --help lines of the flags every daemon has, in the layout of the
 * daemons' usage texts (flag column 30 wide). */
#define DAEMONOPTS_USAGE_COMMON                                                                                \
	"  --log-level LEVEL             debug, info, warn or error (default info)\n"                         \
	"  --log-format FORMAT           text or json (default text)\n"                                       \
	"  --version                     print the version and exit\n"                                        \
	"  --help                        print this help and exit\n"

/* The common flags. Strings point into argv (not copied). A field keeps the
 * value the caller put there before daemonopts_parse() unless a flag gives
 * one, so defaults are set by initialising the struct. */
struct daemon_opts {
	const char *listen;              /* --listen HOST:PORT */
	const char *redis;               /* --redis HOST:PORT */
	const char *redis_password_file; /* --redis-password-file FILE */
	const char *server_secret_file;  /* --server-secret-file FILE */
	enum log_level log_level;        /* --log-level */
	enum log_format log_format;      /* --log-format */
};

/* How a daemon's own flag is read, and the type of its destination. */
enum daemon_flag_type {
	DAEMON_FLAG_BOOL,     /* bool *: set to true; the flag takes no value */
	DAEMON_FLAG_STRING,   /* const char **: the value, pointing into argv */
	DAEMON_FLAG_INT,      /* int *: str_to_int() within [min, max] */
	DAEMON_FLAG_DURATION, /* int64_t *: milliseconds, str_to_duration_ms() */
	DAEMON_FLAG_SIZE,     /* uint64_t *: bytes, str_to_size() */
};

/* One of a daemon's own flags. */
struct daemon_flag {
	const char *name; /* with the dashes: "--namespace" */
	enum daemon_flag_type type;
	void *dest;
	int min, max; /* DAEMON_FLAG_INT only */
	bool *given;  /* optional: set to true when the flag is on the command line */
};

/* What daemonopts_parse() tells the caller to do. */
enum daemonopts_result {
	DAEMONOPTS_RUN = 0, /* every flag read: start the daemon */
	DAEMONOPTS_HELP,    /* --help: print the usage text, exit 0 */
	DAEMONOPTS_VERSION, /* --version: print the version, exit 0 */
};

/* Reads argv[1..argc-1] into *opts (common flags) and the destinations of
 * flags[0..n_flags-1] (the daemon's own). --help and --version end the parse
 * where they stand, as they would have ended the program. Returns a
 * DAEMONOPTS_* value (>= 0), or BERR_INVALID with a message naming the
 * flag ("unknown flag: --x", "bad value for --x: y"); destinations of flags
 * read before the error keep their new values. */
int daemonopts_parse(int argc, char **argv, const struct daemon_flag *flags, size_t n_flags,
		     struct daemon_opts *opts);

/* Reads a secret (a password, a signing key) from the file at path, at most
 * 64 KiB, without trailing newlines, carriage returns and spaces. On success
 * *ret is a new NUL-terminated string (free with daemonopts_secret_free)
 * and, when ret_len is not NULL, *ret_len its length. Returns 0, or a
 * negative BERR_* from reading the file (BERR_TOO_LARGE past the limit);
 * outputs untouched on failure. */
int daemonopts_read_secret(const char *path, char **ret, size_t *ret_len);

/* Wipes and frees a string from daemonopts_read_secret(); NULL is fine. */
void daemonopts_secret_free(char *secret);

/* Creates the cache client the common flags describe (rcache_new: it does
 * not connect yet). Redis at opts->redis, with the password of
 * --redis-password-file; entries are signed with the key of
 * --server-secret-file (at least 16 bytes; bytes past 64 are not used), else
 * with base->hmac_key, else with a random per-process key. base gives the
 * rest (timeout, pool size, on_state); its addr and password are ignored.
 * Without --redis, *ret is set to NULL after the secret file, if any, was
 * read and checked. Secrets read are wiped before returning. 0, or a negative
 * BERR_* whose message names the flag at fault; *ret untouched on failure. */
int daemonopts_open_cache(const struct daemon_opts *opts, const struct rcache_opts *base, struct rcache **ret);

#endif
