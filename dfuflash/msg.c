/*
 * msg.c - see msg.h.
 */
#include <stdarg.h>
#include <stdio.h>

#include "msg.h"

int
dfl_msg(char *msg, size_t msglen, const char *fmt, ...)
{
	va_list ap;

	if (msg != NULL && msglen > 0) {
		va_start(ap, fmt);
		vsnprintf(msg, msglen, fmt, ap);
		va_end(ap);
	}
	return -1;
}
