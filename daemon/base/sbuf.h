/*
 * sbuf.h: a growing, always NUL-terminated string, for text the daemon
 * builds piece by piece: PostgreSQL array literals (the parameters of
 * bulk statements) and hot-path JSON. Embed a zeroed struct sbuf; the
 * text stays valid until the next append or sbuf_free.
 */
#ifndef RECALLD_SBUF_H
#define RECALLD_SBUF_H

#include <stddef.h>
#include <stdint.h>

struct sbuf {
	char *s;	/* NULL until the first append */
	size_t len, cap;
	int n;		/* elements of the array literal being built */
};

void sbuf_put(struct sbuf *b, const char *s, size_t len);
void sbuf_str(struct sbuf *b, const char *s);
void sbuf_putc(struct sbuf *b, char c);
/* Decimal without printf (hot: several per answer). */
void sbuf_i64(struct sbuf *b, int64_t v);
/* %.17g: reads back as the same double. */
void sbuf_f64(struct sbuf *b, double v);
/* A JSON string with quotes, backslashes and control characters escaped. */
void sbuf_json_str(struct sbuf *b, const char *s);

/*
 * Array literals: each sbuf_arr_* appends one element ("{1,2}",
 * {"a","b\"c"}, NULL), sbuf_arr_end closes it ("{}" when empty) and
 * returns the text.
 */
void sbuf_arr_i64(struct sbuf *b, int64_t v);
void sbuf_arr_f64(struct sbuf *b, double v);
void sbuf_arr_text(struct sbuf *b, const char *v);	/* NULL gives NULL */
void sbuf_arr_null(struct sbuf *b);
const char *sbuf_arr_end(struct sbuf *b);

/* The text so far ("" when nothing was appended). */
const char *sbuf_text(const struct sbuf *b);
/* Forget the text, keep the memory. */
void sbuf_reset(struct sbuf *b);
/* Hand the text over (caller frees); the buffer is empty again. */
char *sbuf_take(struct sbuf *b);
void sbuf_free(struct sbuf *b);

/* "{a,b,c}" of n int64s, each stride bytes apart (caller frees). */
char *sbuf_ids_literal(const int64_t *v, size_t n, size_t stride);

#endif
