/* draw.h: drawing helpers shared by the screens. */
#ifndef REHEARSE_DRAW_H
#define REHEARSE_DRAW_H

/* Writes the UTF-8 string s at y,x in at most width columns, counting each
 * character's display width (wide characters take two, combining marks
 * none); what does not fit is left out.  Returns the columns written. */
int	 ui_put(int y, int x, int width, const char *s);

#endif
