/*
 * cliconfig — the contexts file of the berth CLI: which API servers the user
 * logged in to, with what token, and which one is current.
 *
 * The file is JSON, by default ~/.config/berth/config ($XDG_CONFIG_HOME/berth/
 * config when that is set, $BERTH_CONFIG or an explicit path first):
 *     {"current": "NAME",
 *      "contexts": {"NAME": {"server": URL, "token": T, "username": U,
 *                            "insecure": bool}}}
 * It holds session tokens, so it is only ever written with mode 0600 (by a
 * temporary file in the same folder and a rename, so a crash never leaves a
 * half-written file) in a folder created with mode 0700.
 *
 * Servers are named as users type them ("127.0.0.1:8080", "https://cd.x");
 * cliconfig_server_url gives the URL a client connects to.
 */
#ifndef BERTH_CLICONFIG_H
#define BERTH_CLICONFIG_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* Largest contexts file read. */
#define CLICONFIG_MAX_BYTES ((size_t)1 << 20)

/* The contexts file's path into out[size]: explicit when not NULL, else
 * $BERTH_CONFIG, else $XDG_CONFIG_HOME/berth/config, else
 * $HOME/.config/berth/config. */
void cliconfig_path(const char *explicit_path, char *out, size_t size);

/* Reads the file at path. A missing or empty file gives an empty object.
 * 0 with *ret (new reference); BERR_IO, BERR_TOOLARGE, BERR_INVALID (not
 * JSON, or not an object); messages name the file. */
int cliconfig_load(const char *path, json_t **ret);

/* Writes cfg to path with mode 0600, creating missing folders (0700). 0,
 * BERR_IO, BERR_NOMEM. */
int cliconfig_save(const char *path, const json_t *cfg);

/* The URL for server: kept when it has a scheme, else "http://" (plaintext)
 * or "https://" prepended; trailing '/' removed. malloc'd; NULL on NOMEM. */
char *cliconfig_server_url(const char *server, bool plaintext);

/* The context for server as the user typed it: the context of that name,
 * else the one whose "server" is its URL (cliconfig_server_url). NULL
 * server: the current context. Borrowed from cfg; NULL when none. */
json_t *cliconfig_context(const json_t *cfg, const char *server, bool plaintext);

/* Stores {server: url, token, username, insecure} as context name and makes
 * it current. 0 or BERR_NOMEM. */
int cliconfig_set_context(json_t *cfg, const char *name, const char *url, const char *username,
			  const char *token, bool insecure);

#endif
