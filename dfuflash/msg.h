/*
 * msg.h - the error message convention of dfuflash's modules: a failing
 * call writes why into a caller's buffer and returns -1.
 */
#ifndef DFUFLASH_MSG_H
#define DFUFLASH_MSG_H

#include <stddef.h>

/* printf fmt into msg (when msg is not NULL and msglen > 0); -1. */
int dfl_msg(char *msg, size_t msglen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif /* DFUFLASH_MSG_H */
