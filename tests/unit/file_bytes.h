/* Test helpers: a whole file into memory and back (REQUIRE on any failure).
 * Used by the stats-file tests to read a published file, change it and put
 * it back. */
#ifndef JET_TEST_FILE_BYTES_H
#define JET_TEST_FILE_BYTES_H

#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"

/* The whole file at path, in a malloc'd buffer (one spare byte at the end). */
static inline uint8_t *slurp(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW);
    REQUIRE(fd >= 0);
    struct stat sb;
    REQUIRE(fstat(fd, &sb) == 0);
    uint8_t *b = malloc((size_t)sb.st_size + 1);
    REQUIRE(b);
    REQUIRE(pread(fd, b, (size_t)sb.st_size, 0) == sb.st_size);
    close(fd);
    *len = (size_t)sb.st_size;
    return b;
}

/* Replaces the file at path by a new one of mode holding b[0..len). */
static inline void spit(const char *path, const uint8_t *b, size_t len, mode_t mode)
{
    unlink(path);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode);
    REQUIRE(fd >= 0);
    REQUIRE(len == 0 || write(fd, b, len) == (ssize_t)len);
    close(fd);
}

#endif
