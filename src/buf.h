/* buf.h: a growable byte buffer, always NUL-terminated. */
#ifndef REHEARSE_BUF_H
#define REHEARSE_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char	*data;		/* NUL-terminated; may hold other NULs */
	size_t	 len;
	size_t	 cap;
};

void	 buf_init(struct buf *);
void	 buf_free(struct buf *);
void	 buf_reset(struct buf *);
void	 buf_add(struct buf *, const void *, size_t);
void	 buf_addc(struct buf *, char);
void	 buf_adds(struct buf *, const char *);
void	 buf_addf(struct buf *, const char *, ...) __attribute__((format(printf, 2, 3)));
void	 buf_vaddf(struct buf *, const char *, va_list) __attribute__((format(printf, 2, 0)));
/* Room for more bytes at data + len, to be filled and then counted with
 * buf_added (the NUL is put back there). */
char	*buf_space(struct buf *, size_t more);
void	 buf_added(struct buf *, size_t);
/* Returns the data (caller frees) and leaves the buffer empty. */
char	*buf_detach(struct buf *);

#endif
