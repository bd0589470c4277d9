/* The per-sample JSON labels (y), assembled in C: the same text as labels.y_json_py, byte for
 * byte (tests/test_labels.py checks it), ~10x faster. Numbers arrive already formatted (orjson's
 * shortest round-trip text of each float64 column, "[a,b,null,...]"); this code only splits
 * them, formats integers and copies pre-encoded category fragments.
 *
 * Output: one JSON object per sample, each followed by a NUL byte (JSON text never holds one).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *p, *end;
} buf_t;

typedef struct { /* pre-encoded fragments: fragment k is blob[off[k] : off[k + 1]] */
    const char *blob;
    const int64_t *off;
} table_t;

typedef struct { /* the comma-separated values of one orjson array: value k is txt[at[k] : at[k] + len[k]] */
    const char *txt;
    int64_t *at;
    int32_t *len;
} reals_t;

static inline int put(buf_t *b, const char *s, int64_t n) {
    if (b->end - b->p < n) return -1;
    memcpy(b->p, s, (size_t)n);
    b->p += n;
    return 0;
}

#define PUTS(b, lit) put((b), (lit), (int64_t)sizeof(lit) - 1)

static inline int put_frag(buf_t *b, const table_t *t, int64_t k) {
    return put(b, t->blob + t->off[k], t->off[k + 1] - t->off[k]);
}

static inline int put_real(buf_t *b, const reals_t *r, int64_t k) { return put(b, r->txt + r->at[k], r->len[k]); }

static inline int put_int(buf_t *b, int64_t v) {
    char tmp[24];
    int i = 24;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0) tmp[--i] = '-';
    return put(b, tmp + i, 24 - i);
}

static inline int put_bool(buf_t *b, int v) { return v ? PUTS(b, "true") : PUTS(b, "false"); }

/* Split "[a,b,c]" (count values) into r; returns -1 when the text holds another number of values. */
static int split_reals(reals_t *r, const char *txt, int64_t count) {
    r->txt = txt;
    r->at = malloc(sizeof(int64_t) * (count > 0 ? count : 1));
    r->len = malloc(sizeof(int32_t) * (count > 0 ? count : 1));
    if (!r->at || !r->len) return -1;
    if (count == 0) return 0;
    int64_t pos = 1, k = 0; /* skip '[' */
    while (k < count) {
        int64_t e = pos;
        while (txt[e] != ',' && txt[e] != ']' && txt[e] != '\0') e++;
        if (txt[e] == '\0') return -1;
        r->at[k] = pos;
        r->len[k] = (int32_t)(e - pos);
        k++;
        pos = e + 1;
        if (txt[e] == ']') break;
    }
    return k == count ? 0 : -1;
}

static void free_reals(reals_t *r) {
    free(r->at);
    free(r->len);
}

enum { T_CHARS, T_FONTS, T_SCRIPTS, T_KINDS, T_OCC, N_TABLES };
enum { S_SLANT, S_ROT, S_SCALE, S_TX, S_TY, N_SREALS };
enum { O_SCALE, O_ROT, O_TX, O_TY, N_OREALS };

/* ',"translation":[tx,ty],"foreground":{"style":kind,"seed":seed}': the tail of both fragments. */
static int put_tail(buf_t *b, const table_t *kinds, const reals_t *tx, const reals_t *ty, int64_t kind, int64_t seed,
                    int64_t k) {
    int e = PUTS(b, ",\"translation\":[");
    e |= put_real(b, tx, k);
    e |= PUTS(b, ",");
    e |= put_real(b, ty, k);
    e |= PUTS(b, "],\"foreground\":{\"style\":");
    e |= put_frag(b, kinds, kind);
    e |= PUTS(b, ",\"seed\":");
    e |= put_int(b, seed);
    return e | PUTS(b, "}");
}

/* One symbol: labels.y_json_py's symbol fragment. */
static int put_symbol(buf_t *b, const table_t *tab, const int64_t *const *c, const double *slant, const reals_t *sr,
                      int64_t k) {
    int e = 0;
    e |= put_frag(b, &tab[T_SCRIPTS], c[0][k]);
    e |= PUTS(b, ",\"char\":");
    e |= put_frag(b, &tab[T_CHARS], c[1][k]);
    e |= PUTS(b, ",");
    e |= put_frag(b, &tab[T_FONTS], c[2][k]);
    e |= PUTS(b, ",\"is_bold\":");
    e |= put_bool(b, c[3][k] != 0);
    e |= PUTS(b, ",\"is_slant\":");
    e |= put_bool(b, slant[k] != 0.0);
    e |= PUTS(b, ",\"slant\":");
    e |= put_real(b, &sr[S_SLANT], k);
    e |= PUTS(b, ",\"rotation\":");
    e |= put_real(b, &sr[S_ROT], k);
    e |= PUTS(b, ",\"scale\":");
    e |= put_real(b, &sr[S_SCALE], k);
    return e | put_tail(b, &tab[T_KINDS], &sr[S_TX], &sr[S_TY], c[4][k], c[5][k], k);
}

/* One occluder: labels.y_json_py's occluder fragment. */
static int put_occluder(buf_t *b, const table_t *tab, const int64_t *const *c, const reals_t *orr, int64_t k) {
    int e = 0;
    e |= PUTS(b, "{\"kind\":");
    e |= put_frag(b, &tab[T_OCC], c[0][k]);
    e |= PUTS(b, ",");
    if (c[1][k] >= 0) {
        e |= PUTS(b, "\"char\":");
        e |= put_frag(b, &tab[T_CHARS], c[1][k]);
        e |= PUTS(b, ",");
        e |= put_frag(b, &tab[T_FONTS], c[2][k]);
        e |= PUTS(b, ",");
    }
    e |= PUTS(b, "\"scale\":");
    e |= put_real(b, &orr[O_SCALE], k);
    e |= PUTS(b, ",\"rotation\":");
    e |= put_real(b, &orr[O_ROT], k);
    e |= put_tail(b, &tab[T_KINDS], &orr[O_TX], &orr[O_TY], c[3][k], c[4][k], k);
    return e | PUTS(b, "}");
}

/* Labels of n samples with S symbol slots and K occluder slots (has_occ: the table has occluder
 * columns, so every object gets an "occluders" list).
 *
 * p holds, in order (int64 arrays unless noted; "txt" = orjson text of a float64 array):
 *   0-9   the five fragment tables (blob, offsets): chars, fonts, scripts, pattern kinds, occluder kinds
 *   10-16 per sample: n_symbols, background_kind, background_seed, inverse_color, pixel_noise txt,
 *         index, and the '"resolution":[W,H],"seed":S' fragment (NUL-terminated)
 *   17-22 per symbol slot (n * S): script, char, font, bold, foreground_kind, foreground_seed
 *   23    slant (double, n * S); 24-28 txt of slant, rotation, scale, translation_x, translation_y
 *   29    per sample: n_occluders; 30-34 per occluder slot (n * K): kind, char, font, fg_kind, fg_seed
 *   35-38 txt of occluder scale, rotation, translation_x, translation_y
 * Returns the bytes written, -1 when cap is too small, -2 on malformed input or no memory.
 */
int64_t sp_labels(char *out, int64_t cap, int64_t n, int64_t S, int64_t K, int32_t has_occ, const void *const *p) {
    table_t tab[N_TABLES];
    for (int t = 0; t < N_TABLES; t++) {
        tab[t].blob = (const char *)p[2 * t];
        tab[t].off = (const int64_t *)p[2 * t + 1];
    }
    const int64_t *ns = p[10], *bk = p[11], *bs = p[12], *inv = p[13], *index = p[15];
    const char *res = p[16];
    const int64_t res_len = (int64_t)strlen(res);
    const int64_t *sym[6];
    for (int j = 0; j < 6; j++) sym[j] = p[17 + j];
    const double *slant = p[23];
    const int64_t *no = has_occ ? p[29] : NULL;
    const int64_t *occ[5];
    for (int j = 0; j < 5; j++) occ[j] = has_occ ? p[30 + j] : NULL;

    reals_t noise, sr[N_SREALS], orr[N_OREALS];
    int bad = 0;
    memset(sr, 0, sizeof sr);
    memset(orr, 0, sizeof orr);
    bad |= split_reals(&noise, p[14], n);
    for (int j = 0; j < N_SREALS; j++) bad |= split_reals(&sr[j], p[24 + j], n * S);
    for (int j = 0; has_occ && j < N_OREALS; j++) bad |= split_reals(&orr[j], p[35 + j], n * K);

    buf_t b = {out, out + cap};
    int e = 0;
    for (int64_t i = 0; i < n && !bad && !e; i++) {
        const int64_t k = ns[i];
        e |= PUTS(&b, "{");
        if (k > 0) e |= put_symbol(&b, tab, sym, slant, sr, i * S);
        e |= PUTS(&b, ",\"background\":{\"style\":");
        e |= put_frag(&b, &tab[T_KINDS], bk[i]);
        e |= PUTS(&b, ",\"seed\":");
        e |= put_int(&b, bs[i]);
        e |= PUTS(&b, "},\"inverse_color\":");
        e |= put_bool(&b, inv[i] != 0);
        e |= PUTS(&b, ",\"pixel_noise_scale\":");
        e |= put_real(&b, &noise, i);
        e |= PUTS(&b, ",");
        e |= put(&b, res, res_len);
        e |= PUTS(&b, ",\"index\":");
        e |= put_int(&b, index[i]);
        e |= PUTS(&b, ",\"n_symbols\":");
        e |= put_int(&b, k);
        e |= PUTS(&b, ",\"symbols\":[{");
        if (k > 0) e |= put_symbol(&b, tab, sym, slant, sr, i * S);
        for (int64_t j = 1; j < k; j++) {
            e |= PUTS(&b, "},{");
            e |= put_symbol(&b, tab, sym, slant, sr, i * S + j);
        }
        e |= PUTS(&b, "}]");
        if (has_occ) {
            e |= PUTS(&b, ",\"occluders\":[");
            for (int64_t j = 0; j < no[i]; j++) {
                if (j) e |= PUTS(&b, ",");
                e |= put_occluder(&b, tab, occ, orr, i * K + j);
            }
            e |= PUTS(&b, "]");
        }
        e |= PUTS(&b, "}");
        e |= put(&b, "", 1); /* the NUL after each object */
    }
    free_reals(&noise);
    for (int j = 0; j < N_SREALS; j++) free_reals(&sr[j]);
    for (int j = 0; j < N_OREALS; j++) free_reals(&orr[j]);  /* free(NULL) is a no-op */
    if (bad) return -2;
    return e ? -1 : (int64_t)(b.p - out);
}
