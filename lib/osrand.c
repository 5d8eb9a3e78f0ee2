/* osrand — random bytes from the operating system (see osrand.h). */
#include "osrand.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include "err.h"

int osrand_bytes(void *out, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = getrandom((char *)out + got, n - got, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return err_set(BERR_INTERNAL, "getrandom: %s", strerror(errno));
		}
		got += (size_t)r;
	}
	return 0;
}
