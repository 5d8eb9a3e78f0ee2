/* passwd — bcrypt password hashes via libcrypt. */
#include "passwd.h"

#include <crypt.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "osrand.h"
#include "str.h"

/* crypt_rn into a heap crypt_data (it is tens of KiB); returns a copy of
 * the result or NULL (failure or a "*" error hash). */
static char *crypt_copy(const char *password, const char *setting)
{
	struct crypt_data *cd = calloc(1, sizeof(*cd));
	char *res, *copy = NULL;

	if (!cd)
		return NULL;
	res = crypt_rn(password, setting, cd, (int)sizeof(*cd));
	if (res && res[0] != '*')
		copy = strdup(res);
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return copy;
}

int passwd_hash(const char *password, int cost, char **ret_hash)
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	unsigned char rnd[16];
	char *hash;
	int rc;

	if (cost == 0)
		cost = PASSWD_DEFAULT_COST;
	if (cost < PASSWD_MIN_COST || cost > PASSWD_MAX_COST)
		return err_set(BERR_INVALID, "password hash: cost %d outside %d..%d", cost,
			       PASSWD_MIN_COST, PASSWD_MAX_COST);
	if (!password || !*password)
		return err_set(BERR_INVALID, "password is empty");
	if (strlen(password) > PASSWD_MAX_LEN)
		return err_set(BERR_INVALID, "password is longer than %d bytes", PASSWD_MAX_LEN);
	if ((rc = osrand_bytes(rnd, sizeof(rnd))) < 0)
		return rc;
	if (!crypt_gensalt_rn("$2b$", (unsigned long)cost, (const char *)rnd, sizeof(rnd), salt,
			      sizeof(salt)))
		return err_set(BERR_INTERNAL, "password hash: libcrypt has no bcrypt");
	explicit_bzero(rnd, sizeof(rnd));
	if (!(hash = crypt_copy(password, salt)))
		return err_set(BERR_INTERNAL, "password hash: bcrypt failed");
	*ret_hash = hash;
	return 0;
}

static bool is_bcrypt(const char *hash)
{
	/* "$2b$10$" + 53 characters of salt and digest. */
	return hash && strlen(hash) == 60 && hash[0] == '$' && hash[1] == '2' &&
	       (hash[2] == 'a' || hash[2] == 'b' || hash[2] == 'y') && hash[3] == '$' &&
	       hash[6] == '$';
}

int passwd_verify(const char *password, const char *hash)
{
	char *got;
	bool same;

	if (!is_bcrypt(hash))
		return err_set(BERR_INVALID, "stored password is not a bcrypt hash");
	if (!password || strlen(password) > PASSWD_MAX_LEN)
		password = "";
	got = crypt_copy(password, hash);
	if (!got)
		return err_set(BERR_INTERNAL, "password check: bcrypt failed");
	same = str_secure_eq(got, strlen(got), hash, strlen(hash)) && password[0] != '\0';
	explicit_bzero(got, strlen(got));
	free(got);
	return same ? 0 : err_set(BERR_UNAUTHORIZED, "invalid username or password");
}

static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;
static char *dummy_hash;

static void make_dummy(void)
{
	char pw[33];
	unsigned char rnd[16];
	int i;

	if (osrand_bytes(rnd, sizeof(rnd)) < 0)
		memset(rnd, 0x5a, sizeof(rnd));
	for (i = 0; i < 16; i++) {
		pw[2 * i] = (char)('a' + (rnd[i] >> 4));
		pw[2 * i + 1] = (char)('a' + (rnd[i] & 15));
	}
	pw[32] = '\0';
	if (passwd_hash(pw, PASSWD_DEFAULT_COST, &dummy_hash) < 0)
		dummy_hash = NULL;
}

int passwd_check(const char *password, const char *hash)
{
	int rc;

	if (is_bcrypt(hash)) {
		rc = passwd_verify(password, hash);
		if (rc == 0 || rc == BERR_UNAUTHORIZED)
			return rc;
	}
	/* No such account (or an unusable hash): spend the same work. */
	pthread_once(&dummy_once, make_dummy);
	if (dummy_hash)
		(void)passwd_verify(password, dummy_hash);
	return err_set(BERR_UNAUTHORIZED, "invalid username or password");
}
