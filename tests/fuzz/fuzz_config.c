/* fuzz_config.c: libFuzzer harness for the INI configuration file (daemon/base/config.h). */
#include "autoconf.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64], err[512];
	struct config *c;
	size_t off = 0;
	int fd;

	if ((fd = memfd_create("fuzz_config", 0)) < 0)
		return 0;
	while (off < size) {
		ssize_t n = write(fd, data + off, size - off);
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	c = config_new();
	(void)config_load(c, path, true, err, sizeof err);
	config_free(c);
	close(fd);
	return 0;
}
