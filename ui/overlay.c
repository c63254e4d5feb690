/* overlay.c: help, confirmation and text input, over any screen.  See
 * overlay.h. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "curses_inc.h"
#include "draw.h"
#include "overlay.h"
#include "screen.h"
#include "textesc.h"
#include "xmalloc.h"

#define BOX_LINES	40

void
overlay_box(const char *title, const char *const *lines, size_t n,
    const char *footer)
{
	int w = COLS - 8 > 76 ? 76 : COLS - 8, h, x, y, i;

	if (n > (size_t)(LINES > 6 ? LINES - 4 : 2))
		n = (size_t)(LINES > 6 ? LINES - 4 : 2);
	h = (int)n + 4;
	if (w < 20)
		w = COLS;
	x = (COLS - w) / 2;
	y = (LINES - h) / 2;
	if (y < 0)
		y = 0;
	for (i = 0; i < h; i++)
		mvhline(y + i, x, ' ', w);
	ui_attr(PAIR_HEAD, A_REVERSE, true);
	mvhline(y, x, ' ', w);
	ui_put(y, x + 1, w - 2, title);
	ui_attr(PAIR_HEAD, A_REVERSE, false);
	for (i = 0; i < (int)n; i++)
		ui_put(y + 2 + i, x + 2, w - 4, lines[i]);
	attron(A_BOLD);
	ui_put(y + h - 1, x + 2, w - 4, footer);
	attroff(A_BOLD);
}

/* Help ------------------------------------------------------------------------ */

struct help {
	char		*title;
	char		*lines[BOX_LINES];
	size_t		 n;
};

static void
help_draw(struct screen *s)
{
	struct help *h = s->data;

	overlay_box(h->title, (const char *const *)h->lines, h->n,
	    "any key closes");
}

static bool
help_key(struct screen *s, int key)
{
	(void)key;
	screen_pop(s->ui);
	return true;
}

static void
help_free(struct screen *s)
{
	struct help *h = s->data;
	size_t i;

	for (i = 0; i < h->n; i++)
		free(h->lines[i]);
	free(h->title);
	free(h);
}

static const struct screen_ops help_ops = {
	.name = "help",
	.draw = help_draw,
	.key = help_key,
	.free = help_free,
	.overlay = true,
};

void
overlay_help(struct ui *u, const char *title, const char *const *note)
{
	struct screen *base = screen_base(u);
	const struct ui_key *k = NULL;
	struct help *h = xcalloc(1, sizeof *h);

	h->title = xstrdup(title);
	if (base != NULL && base->ops->keys != NULL)
		k = base->ops->keys(base);
	for (; k != NULL && k->keys[0] != 0 && h->n < BOX_LINES; k++) {
		if (k->help == NULL)
			continue;
		h->lines[h->n++] = xprintf("%-15s %s%s", k->name, k->help,
		    !k->read_only && ui_read_only(u) ? " (not read-only)" : "");
	}
	for (; note != NULL && *note != NULL && h->n < BOX_LINES; note++)
		h->lines[h->n++] = xstrdup(*note);
	screen_push(u, &help_ops, h);
}

/* Text input ------------------------------------------------------------------ */

struct input {
	char		*prompt;
	struct buf	 text;
	size_t		 max;
	bool		 utf8;
	overlay_fn	 fn;
	void		*arg;
};

static bool
enter_key(int key)
{
	return key == '\n' || key == '\r' || key == KEY_ENTER;
}

/* Edits b by key: backspace, or a printable byte.  False: not an edit. */
static bool
input_edit(struct buf *b, int key, size_t max, bool utf8)
{
	if (key == KEY_BACKSPACE || key == 127 || key == 8) {
		while (b->len > 0) {
			b->len--;
			if (!utf8 || ((unsigned char)b->data[b->len] & 0xc0) !=
			    0x80)
				break;
		}
		if (b->data != NULL)
			b->data[b->len] = '\0';
		return true;
	}
	if (key >= 0x20 && key != 0x7f && key <= (utf8 ? 0xff : 0x7e)) {
		if (b->len < max)
			buf_addc(b, (char)key);
		return true;
	}
	return false;
}

static void
input_draw(struct screen *s)
{
	struct input *in = s->data;
	char *e = esc_text(in->text.data ? in->text.data : "", in->text.len,
	    0), *line = xprintf(" %s %s_", in->prompt, e);

	attron(A_REVERSE);
	mvhline(LINES - 1, 0, ' ', COLS);
	ui_put(LINES - 1, 0, COLS, line);
	attroff(A_REVERSE);
	free(line);
	free(e);
}

static bool
input_key(struct screen *s, int key)
{
	struct input *in = s->data;
	overlay_fn fn = in->fn;
	void *arg = in->arg;
	char *text;

	if (key == 27) {
		screen_pop(s->ui);
	} else if (enter_key(key)) {
		text = xstrdup(in->text.data ? in->text.data : "");
		screen_pop(s->ui);
		fn(arg, text);
		free(text);
	} else
		input_edit(&in->text, key, in->max, in->utf8);
	return true;
}

static void
input_free(struct screen *s)
{
	struct input *in = s->data;

	free(in->prompt);
	buf_free(&in->text);
	free(in);
}

static const struct screen_ops input_ops = {
	.name = "input",
	.draw = input_draw,
	.key = input_key,
	.free = input_free,
	.overlay = true,
};

void
overlay_input(struct ui *u, const char *prompt, size_t max, bool utf8,
    overlay_fn fn, void *arg)
{
	struct input *in = xcalloc(1, sizeof *in);

	in->prompt = xstrdup(prompt);
	buf_init(&in->text);
	in->max = max;
	in->utf8 = utf8;
	in->fn = fn;
	in->arg = arg;
	screen_push(u, &input_ops, in);
}

/* Confirmation ---------------------------------------------------------------- */

struct confirm {
	char		*title;
	char		*lines[12];
	size_t		 n;
	char		*need;		/* text to type, or NULL: y/n */
	struct buf	 typed;
	overlay_fn	 yes;
	overlay_fn	 no;
	void		*arg;
};

static void
confirm_draw(struct screen *s)
{
	struct confirm *c = s->data;
	const char *lines[13];
	char *typed = NULL;
	size_t i;

	for (i = 0; i < c->n; i++)
		lines[i] = c->lines[i];
	if (c->need != NULL) {
		/* What has been typed so far, so that a slip shows. */
		typed = xprintf("> %s_", c->typed.data ? c->typed.data : "");
		lines[i++] = typed;
	}
	overlay_box(c->title, lines, i, c->need != NULL ? "type the text "
	    "shown, then Enter; Esc cancels" : "y: do it   n or Esc: cancel");
	free(typed);
}

static bool
confirm_key(struct screen *s, int key)
{
	struct confirm *c = s->data;
	struct ui *u = s->ui;
	overlay_fn yes = c->yes, no = c->no;
	void *arg = c->arg;
	bool ok;

	if (c->need != NULL) {
		if (key == 27) {
			screen_pop(u);
			if (no != NULL)
				no(arg, "");
		} else if (enter_key(key)) {
			ok = c->typed.data != NULL &&
			    strcmp(c->typed.data, c->need) == 0;
			screen_pop(u);
			if (ok)
				yes(arg, "");
			else {
				if (no != NULL)
					no(arg, "");
				ui_say(u, "the text did not match: nothing done");
			}
		} else
			input_edit(&c->typed, key, 200, false);
		return true;
	}
	if (key == 'y' || key == 'Y') {
		screen_pop(u);
		yes(arg, "");
	} else if (key == 'n' || key == 'N' || key == 27 || key == 'q') {
		screen_pop(u);
		ui_say(u, "cancelled: nothing done");
		if (no != NULL)
			no(arg, "");
	}
	return true;
}

static void
confirm_free(struct screen *s)
{
	struct confirm *c = s->data;
	size_t i;

	free(c->title);
	for (i = 0; i < c->n; i++)
		free(c->lines[i]);
	free(c->need);
	buf_free(&c->typed);
	free(c);
}

static const struct screen_ops confirm_ops = {
	.name = "confirm",
	.draw = confirm_draw,
	.key = confirm_key,
	.free = confirm_free,
	.overlay = true,
};

struct screen *
overlay_confirm(struct ui *u, const char *title, const char *need,
    overlay_fn yes, overlay_fn no, void *arg)
{
	struct confirm *c = xcalloc(1, sizeof *c);

	c->title = esc_str(title, 0);
	c->need = need != NULL ? xstrdup(need) : NULL;
	buf_init(&c->typed);
	c->yes = yes;
	c->no = no;
	c->arg = arg;
	return screen_push(u, &confirm_ops, c);
}

void
overlay_confirm_line(struct screen *s, const char *text)
{
	struct confirm *c = s->data;

	if (c->n < sizeof c->lines / sizeof c->lines[0])
		c->lines[c->n++] = esc_str(text, 0);
}
