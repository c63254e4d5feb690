/* draw.c: drawing helpers shared by the screens. */
#include "config.h"

#include <stdint.h>
#include <string.h>
#include <wchar.h>

#include "curses_inc.h"
#include "draw.h"
#include "textesc.h"

int
ui_put(int y, int x, int width, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = 0, n, total = strlen(s);
	int cols = 0, w;
	uint32_t cp;

	if (width <= 0 || y < 0 || y >= LINES || x < 0 || x >= COLS)
		return 0;
	if (width > COLS - x)
		width = COLS - x;
	while (len < total) {
		if ((n = utf8_decode(p + len, total - len, &cp)) == 0) {
			/* Escaped text holds none; stop rather than guess. */
			break;
		}
		if (esc_is_unsafe_cp(cp) || cp < 0x20 || cp == 0x7f)
			break;
		/* Unknown width (a locale without it): one column. */
		if ((w = cp < 0x80 ? 1 : wcwidth((wchar_t)cp)) < 0)
			w = 1;
		if (cols + w > width)
			break;
		len += n;
		cols += w;
	}
	mvaddnstr(y, x, s, (int)len);
	return cols;
}
