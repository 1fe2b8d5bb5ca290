/*
 * sha256.c - the SHA-256 of each file named, through nettle as dfusplit
 * computes it, on one thread: the benchmark's measure of how long the
 * manifest's digests take by themselves (bench/README.md, dfusplit).
 * Not installed; bench/run.sh builds it.
 */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <nettle/sha2.h>

int
main(int argc, char **argv)
{
	static unsigned char buf[1 << 20];
	uint8_t d[SHA256_DIGEST_SIZE];
	struct sha256_ctx c;
	ssize_t n;
	int i, fd;

	for (i = 1; i < argc; i++) {
		if ((fd = open(argv[i], O_RDONLY)) < 0) {
			perror(argv[i]);
			return 1;
		}
		sha256_init(&c);
		while ((n = read(fd, buf, sizeof(buf))) > 0)
			sha256_update(&c, (size_t)n, buf);
		close(fd);
		if (n < 0) {
			perror(argv[i]);
			return 1;
		}
		sha256_digest(&c, sizeof(d), d);
		printf("%02x%02x%02x%02x...  %s\n", d[0], d[1], d[2], d[3],
		    argv[i]);
	}
	return 0;
}
