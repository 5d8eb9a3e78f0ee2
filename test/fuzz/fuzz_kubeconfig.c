/* Fuzz target: kube_config_load_files on the input as a kubeconfig file
 * (a memfd, loaded by its /proc/self/fd path; nothing touches the disk).
 * The credential step (which may run exec plugins) is not exercised. */
#include "fuzz_common.h"

#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kubeconfig.h"

int fuzz_kubeconfig(const uint8_t *data, size_t size);

int fuzz_kubeconfig(const uint8_t *data, size_t size)
{
	struct kube_config kc, copy;
	char path[64];
	const char *paths[1] = { path };
	int fd = memfd_create("fuzz-kubeconfig", MFD_CLOEXEC);
	size_t off = 0;

	if (fd < 0)
		abort();
	while (off < size) {
		ssize_t n = write(fd, data + off, size - off);

		if (n <= 0)
			abort();
		off += (size_t)n;
	}
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	memset(&kc, 0, sizeof kc);
	if (kube_config_load_files(paths, 1, NULL, &kc) == 0) {
		if (kube_config_copy(&kc, &copy) == 0)
			kube_config_release(&copy);
		kube_config_release(&kc);
	}
	close(fd);
	return 0;
}

FUZZ_ENTRY(kubeconfig)
