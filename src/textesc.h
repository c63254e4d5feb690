/* textesc.h: make untrusted text inert before it reaches a terminal or a log.
 *
 * Header values, bodies, Redis keys, command output and names read from files
 * are shown escaped: C0 controls and DEL as \xHH (or \n \r \t), C1 controls,
 * Unicode bidi and other invisible format controls as \uXXXX, bytes that are
 * not valid UTF-8 as \xHH.  Printable UTF-8 passes unchanged. */
#ifndef REHEARSE_TEXTESC_H
#define REHEARSE_TEXTESC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define ESC_KEEP_TAB	0x1	/* let \t through */
#define ESC_KEEP_NL	0x2	/* let \n through */
#define ESC_BACKSLASH	0x4	/* write \ as \\ so the escaping is reversible */
#define ESC_ASCII	0x8	/* escape every non-ASCII character as \uXXXX */

/* Appends the escaped form of s[0..len) to b. */
void	 esc_append(struct buf *b, const void *s, size_t len, int flags);
/* Returns a new string holding the escaped form of s[0..len). */
char	*esc_text(const void *s, size_t len, int flags);
/* Same for a NUL-terminated string. */
char	*esc_str(const char *s, int flags);
/* True when s[0..len) would come out of esc_append unchanged. */
bool	 esc_is_clean(const void *s, size_t len, int flags);

/* Decodes one UTF-8 sequence at s (n bytes available).  Returns its length
 * and stores the code point, or returns 0 for an invalid sequence (overlong,
 * surrogate, above U+10FFFF, truncated). */
size_t	 utf8_decode(const unsigned char *s, size_t n, uint32_t *cp);
/* True for code points that must never reach a terminal unescaped. */
bool	 esc_is_unsafe_cp(uint32_t cp);

#endif
