/* Compiled per-pixel kernels (C): the same arithmetic as the numba kernels in kernels.py,
 * operation for operation, so both give the same bytes (tests/test_kernels.py checks it).
 *
 * Built on first use by synprobe/render/ckernels.py with the system C compiler, cached, and
 * loaded with ctypes: no start-up cost beyond dlopen (numba's import and cache load take
 * ~0.4 s per process). Rules that keep the bytes equal to the numba kernels:
 *   - no fast-math, no FMA contraction (-ffp-contract=off): every + and * rounds as written;
 *   - float32 where the numba code uses np.float32, double where it uses float64;
 *   - min/max with Python's semantics (the first argument wins ties), see pmin/pmax.
 *
 * Layout conventions are those of contract.py and kernels.py (see their docstrings).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__AVX2__)
#include <immintrin.h>
#endif

/* The render contract: the same values as synprobe/render/contract.py (tests/test_kernels.py checks). */
#define KIND_SOLID 0
#define KIND_LINEAR 1
#define KIND_RADIAL 2
#define KIND_TEXTURE 3
#define STOPS 0 /* params[STOPS .. STOPS + 8]: the colour stops c0, c1, c2 (rgb) */
#define GEOMETRY 9
#define N_PARAMS 16
#define NORMAL_LUT_SIZE 4096

static inline float pmax(float a, float b) { return b > a ? b : a; }
static inline float pmin(float a, float b) { return b < a ? b : a; }

static inline uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* Rows [i0, i1) of pattern (kind, params p), or of texture tex[ti] (H, W, 3), into three float32
 * planes: row i goes to d0/d1/d2 + (i - i0) * W. */
static void fill_rows(float *restrict d0, float *restrict d1, float *restrict d2, int64_t kind, const double *p,
                      const float *tex, int64_t ti, int64_t H, int64_t W, int64_t i0, int64_t i1) {
    if (kind == KIND_TEXTURE) {
        const float *t = tex + (ti * H + i0) * W * 3;
        for (int64_t k = 0; k < (i1 - i0) * W; k++) {
            d0[k] = t[3 * k];
            d1[k] = t[3 * k + 1];
            d2[k] = t[3 * k + 2];
        }
        return;
    }
    if (kind == KIND_SOLID) {
        const float r = (float)p[0], g = (float)p[1], b = (float)p[2];
        for (int64_t k = 0; k < (i1 - i0) * W; k++) {
            d0[k] = r;
            d1[k] = g;
            d2[k] = b;
        }
        return;
    }
    const float c0r = (float)p[0], c0g = (float)p[1], c0b = (float)p[2];
    const float d1r = (float)(p[3] - p[0]), d1g = (float)(p[4] - p[1]), d1b = (float)(p[5] - p[2]);
    const float d2r = (float)(p[6] - p[3]), d2g = (float)(p[7] - p[4]), d2b = (float)(p[8] - p[5]);
    if (kind == KIND_RADIAL) {
        /* two-circle radial gradient (cairo's law): pixel p takes the largest t whose circle, centre
         * c1 + t d and radius r1 + t dr >= 0, passes through p: the larger root of
         * A t^2 - 2 B t + C = 0 (A = |d|^2 - dr^2, B = q.d + r1 dr, C = |q|^2 - r1^2, q = p - c1),
         * else the smaller; padded to [0, 1]. Unit coordinates: g = p + GEOMETRY: g[0..6] = 1 / m, x and y of
         * (0.5 / m - c1), dx, dy, r1, dr. Branch-free, so the row vectorises. */
        const double *g = p + GEOMETRY;
        const float im = (float)g[0], qx0 = (float)g[1], qy0 = (float)g[2];
        const float dx = (float)g[3], dy = (float)g[4], r1 = (float)g[5], dr = (float)g[6];
        const float A = dx * dx + dy * dy - dr * dr;
        const float ia = A != 0.0f ? 1.0f / A : 0.0f;  /* degenerate (|d| = |dr|): t = 0 */
        for (int64_t i = i0; i < i1; i++) {
            const int64_t base = (i - i0) * W;
            const float qy = (float)i * im + qy0;
            const float brow = qy * dy + r1 * dr, crow = qy * qy - r1 * r1;
            for (int64_t j = 0; j < W; j++) {
                const float qx = (float)j * im + qx0;
                const float B = qx * dx + brow, C = qx * qx + crow;
                const float sq = sqrtf(pmax(B * B - A * C, 0.0f));
                const float ta = (B + sq) * ia, tb = (B - sq) * ia;
                const float hi = pmax(ta, tb), lo = pmin(ta, tb);
                const float t = r1 + hi * dr < 0.0f ? lo : hi;
                const float t2 = 2.0f * pmin(pmax(t, 0.0f), 1.0f);
                const float f1 = pmin(pmax(t2, 0.0f), 1.0f);
                const float f2 = pmin(pmax(t2 - 1.0f, 0.0f), 1.0f);
                d0[base + j] = c0r + d1r * f1 + d2r * f2;
                d1[base + j] = c0g + d1g * f1 + d2g * f2;
                d2[base + j] = c0b + d1b * f1 + d2b * f2;
            }
        }
        return;
    }
    const float a = (float)p[GEOMETRY], b = (float)p[GEOMETRY + 1], cc = (float)p[GEOMETRY + 2];
    for (int64_t i = i0; i < i1; i++) {
        const int64_t base = (i - i0) * W;
        const float t0 = b * (float)i + cc;
        for (int64_t j = 0; j < W; j++) {
            const float t2 = 2.0f * (a * (float)j + t0);
            const float f1 = pmin(pmax(t2, 0.0f), 1.0f);
            const float f2 = pmin(pmax(t2 - 1.0f, 0.0f), 1.0f);
            d0[base + j] = c0r + d1r * f1 + d2r * f2;
            d1[base + j] = c0g + d1g * f1 + d2g * f2;
            d2[base + j] = c0b + d1b * f1 + d2b * f2;
        }
    }
}

/* dst float32 (3, H * W) planes <- the whole pattern. */
static void fill_pattern(float *restrict dst, int64_t kind, const double *p, const float *tex, int64_t ti,
                         int64_t H, int64_t W) {
    fill_rows(dst, dst + H * W, dst + 2 * H * W, kind, p, tex, ti, H, W, 0, H);
}

/* rgb (P, 3) <- planes (3, P) */
static void interleave(float *restrict rgb, const float *restrict planes, int64_t P) {
    for (int64_t k = 0; k < P; k++) {
        rgb[3 * k] = planes[k];
        rgb[3 * k + 1] = planes[P + k];
        rgb[3 * k + 2] = planes[2 * P + k];
    }
}

/* out float32 (b, H, W, 3) <- analytic pattern kinds (b,) with params (b, N_PARAMS); rows of kind
 * 3 (a texture the caller supplies) are left zero. */
int sp_eval_patterns(float *out, int64_t b, int64_t H, int64_t W, const int64_t *kinds, const double *params) {
    const int64_t P = H * W;
    float *planes = malloc(sizeof(float) * 3 * (P > 0 ? P : 1));
    if (!planes) return -1;
    for (int64_t s = 0; s < b; s++) {
        if (kinds[s] == KIND_TEXTURE)
            memset(planes, 0, sizeof(float) * 3 * P);
        else
            fill_pattern(planes, kinds[s], params + s * N_PARAMS, NULL, 0, H, W);
        interleave(out + s * P * 3, planes, P);
    }
    free(planes);
    return 0;
}

/* Bilinear sample of glyph pixel (x, y) (in range): the numba kernel's arithmetic, in order. */
static inline uint8_t bilinear(const uint8_t *restrict g, int64_t w, double x, double y) {
    const int64_t x0 = (int64_t)x, y0 = (int64_t)y;
    const double fx = x - (double)x0, fy = y - (double)y0;
    const int64_t q = y0 * w + x0;
    const double top = (double)g[q] * (1.0 - fx) + (double)g[q + 1] * fx;
    const double bot = (double)g[q + w] * (1.0 - fx) + (double)g[q + w + 1] * fx;
    return (uint8_t)(top * (1.0 - fy) + bot * fy + 0.5);
}

#if defined(__AVX2__)
/* Columns [j, j1) of one output row, four at a time: the same double arithmetic as bilinear()
 * (so the same bytes), with the taps fetched by two gathers. The top pair (q, q + 1) is read as
 * the 4 bytes at q, the bottom pair (q + w, q + w + 1) as the 4 bytes at q + w - 2: in range
 * x < w - 1, y < h - 1 both reads stay inside the glyph (no read past the atlas). Lanes out of
 * range read nothing and write 0 (the destination is zero on entry). Returns the next column. */
static int64_t warp_row_avx2(uint8_t *restrict dst, int64_t j, int64_t j1, const double *m, double bx, double by,
                             const uint8_t *restrict g, int64_t w, double xmax, double ymax) {
    const __m256d m0 = _mm256_set1_pd(m[0]), m2 = _mm256_set1_pd(m[2]), m3 = _mm256_set1_pd(m[3]);
    const __m256d m5 = _mm256_set1_pd(m[5]), vbx = _mm256_set1_pd(bx), vby = _mm256_set1_pd(by);
    const __m256d zero = _mm256_setzero_pd(), one = _mm256_set1_pd(1.0), half = _mm256_set1_pd(0.5);
    const __m256d vxmax = _mm256_set1_pd(xmax), vymax = _mm256_set1_pd(ymax);
    const __m256i even = _mm256_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6);
    const __m128i ff = _mm_set1_epi32(0xFF), vw = _mm_set1_epi32((int)w);
    const int *top_base = (const int *)g, *bot_base = (const int *)(g + w - 2);
    __m256d vj = _mm256_setr_pd((double)j, (double)(j + 1), (double)(j + 2), (double)(j + 3));
    for (; j + 4 <= j1; j += 4, vj = _mm256_add_pd(vj, _mm256_set1_pd(4.0))) {
        const __m256d x = _mm256_add_pd(_mm256_add_pd(_mm256_mul_pd(m0, vj), vbx), m2);
        const __m256d y = _mm256_add_pd(_mm256_add_pd(_mm256_mul_pd(m3, vj), vby), m5);
        const __m256d ok = _mm256_and_pd(
            _mm256_and_pd(_mm256_cmp_pd(x, zero, _CMP_GE_OQ), _mm256_cmp_pd(y, zero, _CMP_GE_OQ)),
            _mm256_and_pd(_mm256_cmp_pd(x, vxmax, _CMP_LT_OQ), _mm256_cmp_pd(y, vymax, _CMP_LT_OQ)));
        if (_mm256_movemask_pd(ok) == 0) continue;
        const __m128i ok32 = _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(_mm256_castpd_si256(ok), even));
        const __m256d xs = _mm256_and_pd(x, ok), ys = _mm256_and_pd(y, ok);
        const __m128i x0 = _mm256_cvttpd_epi32(xs), y0 = _mm256_cvttpd_epi32(ys);
        const __m256d fx = _mm256_sub_pd(xs, _mm256_cvtepi32_pd(x0)), fy = _mm256_sub_pd(ys, _mm256_cvtepi32_pd(y0));
        const __m128i q = _mm_add_epi32(_mm_mullo_epi32(y0, vw), x0);
        const __m128i t = _mm_mask_i32gather_epi32(_mm_setzero_si128(), top_base, q, ok32, 1);
        const __m128i b = _mm_mask_i32gather_epi32(_mm_setzero_si128(), bot_base, q, ok32, 1);
        const __m256d tl = _mm256_cvtepi32_pd(_mm_and_si128(t, ff));
        const __m256d tr = _mm256_cvtepi32_pd(_mm_and_si128(_mm_srli_epi32(t, 8), ff));
        const __m256d bl = _mm256_cvtepi32_pd(_mm_and_si128(_mm_srli_epi32(b, 16), ff));
        const __m256d br = _mm256_cvtepi32_pd(_mm_srli_epi32(b, 24));
        const __m256d gx = _mm256_sub_pd(one, fx), gy = _mm256_sub_pd(one, fy);
        const __m256d top = _mm256_add_pd(_mm256_mul_pd(tl, gx), _mm256_mul_pd(tr, fx));
        const __m256d bot = _mm256_add_pd(_mm256_mul_pd(bl, gx), _mm256_mul_pd(br, fx));
        const __m256d v = _mm256_add_pd(_mm256_add_pd(_mm256_mul_pd(top, gy), _mm256_mul_pd(bot, fy)), half);
        __m128i vi = _mm_and_si128(_mm256_cvttpd_epi32(v), ok32);
        vi = _mm_packus_epi16(_mm_packus_epi32(vi, vi), vi);
        const int32_t bytes = _mm_cvtsi128_si32(vi);
        memcpy(dst + j, &bytes, 4);
    }
    return j;
}
#endif

/* Bilinear warp of one atlas glyph (h, w at data + o) into a coverage layer dst (H, W), zero on
 * entry, over the output box rows [box0, box1), columns [box2, box3). */
static void warp_one(uint8_t *restrict dst, const double *m, const int64_t *box, const uint8_t *restrict data,
                     int64_t o, int64_t h, int64_t w, int64_t W) {
    const double xmax = (double)(w - 1), ymax = (double)(h - 1);
    const uint8_t *g = data + o;
    for (int64_t i = box[0]; i < box[1]; i++) {
        const double bx = m[1] * (double)i, by = m[4] * (double)i;  /* x = (m0 j + m1 i) + m2, as numba */
        uint8_t *row = dst + i * W;
        int64_t j = box[2];
#if defined(__AVX2__)
        j = warp_row_avx2(row, j, box[3], m, bx, by, g, w, xmax, ymax);
#endif
        for (; j < box[3]; j++) {
            const double x = m[0] * (double)j + bx + m[2];
            const double y = m[3] * (double)j + by + m[5];
            if (x < 0.0 || y < 0.0 || x >= xmax || y >= ymax) continue;
            row[j] = bilinear(g, w, x, y);
        }
    }
}

/* lowbias32 of hash k under key k32: two 12-bit table indices (low and high half). */
static inline uint32_t noise_hash(uint32_t k32, uint32_t k) {
    uint32_t x = k32 ^ (k * 0x9E3779B9u);
    x ^= x >> 16;
    x *= 0x7FEB352Du;
    x ^= x >> 15;
    x *= 0x846CA68Bu;
    return x ^ (x >> 16);
}

/* Values m0 .. m0 + cnt - 1 of the noise stream of key k32: value m is the low (m even) or high
 * (m odd) 12 bits of noise_hash(k32, m / 2), looked up in the normal table (kernels._normal_noise). */
static void noise_span(float *restrict out, int64_t m0, int64_t cnt, uint32_t k32, const float *restrict lut) {
    int64_t m = m0, end = m0 + cnt;
    if (cnt <= 0) return;
    if (m & 1) { /* odd start: the high half of the previous pair */
        *out++ = lut[(noise_hash(k32, (uint32_t)(m / 2)) >> 16) & (NORMAL_LUT_SIZE - 1u)];
        m++;
    }
    int64_t h = m / 2;
    const int64_t h_end = end / 2; /* whole pairs [h, h_end) */
#if defined(__AVX2__)
    /* eight hashes at a time, table lookups by hardware gathers (compilers tuned for some CPUs
     * emulate them with scalar loads: 2x slower here) */
    const __m256i vk32 = _mm256_set1_epi32((int)k32), golden = _mm256_set1_epi32((int)0x9E3779B9u);
    const __m256i c1 = _mm256_set1_epi32(0x7FEB352D), c2 = _mm256_set1_epi32((int)0x846CA68Bu);
    const __m256i mask = _mm256_set1_epi32(NORMAL_LUT_SIZE - 1), step = _mm256_set1_epi32(8);
    __m256i vk = _mm256_add_epi32(_mm256_set1_epi32((int)(uint32_t)h), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    for (; h + 8 <= h_end; h += 8, out += 16, vk = _mm256_add_epi32(vk, step)) {
        __m256i x = _mm256_xor_si256(vk32, _mm256_mullo_epi32(vk, golden));
        x = _mm256_xor_si256(x, _mm256_srli_epi32(x, 16));
        x = _mm256_mullo_epi32(x, c1);
        x = _mm256_xor_si256(x, _mm256_srli_epi32(x, 15));
        x = _mm256_mullo_epi32(x, c2);
        x = _mm256_xor_si256(x, _mm256_srli_epi32(x, 16));
        const __m256 lo = _mm256_i32gather_ps(lut, _mm256_and_si256(x, mask), 4);
        const __m256 hi = _mm256_i32gather_ps(lut, _mm256_and_si256(_mm256_srli_epi32(x, 16), mask), 4);
        const __m256 a = _mm256_unpacklo_ps(lo, hi), b = _mm256_unpackhi_ps(lo, hi); /* lo0 hi0 lo1 hi1 | lo4 .. */
        _mm256_storeu_ps(out, _mm256_permute2f128_ps(a, b, 0x20));
        _mm256_storeu_ps(out + 8, _mm256_permute2f128_ps(a, b, 0x31));
    }
#endif
    for (; h < h_end; h++, out += 2) {
        const uint32_t x = noise_hash(k32, (uint32_t)h);
        out[0] = lut[x & (NORMAL_LUT_SIZE - 1u)];
        out[1] = lut[(x >> 16) & (NORMAL_LUT_SIZE - 1u)];
    }
    if (end & 1) *out = lut[noise_hash(k32, (uint32_t)h_end) & (NORMAL_LUT_SIZE - 1u)]; /* odd end: a low half */
}

/* out[k] ~ N(0, 1), a pure function of (key, k): see kernels._normal_noise. */
void sp_normal_noise(float *restrict out, int64_t m, uint64_t key, const float *restrict lut) {
    noise_span(out, 0, m, (uint32_t)(key >> 32) ^ (uint32_t)(key & 0xFFFFFFFFULL), lut);
}

static inline uint8_t q8(float v) { return (uint8_t)(int32_t)pmin(pmax(v, 0.0f), 255.0f); }

/* Render a batch: warp, composite, grey / inversion / contrast / noise / rounding, visible masks.
 *
 * The numba path's warp_layers + composite + kernels._visible_masks, fused per sample (no
 * (n, L, H, W) coverage array). Arguments as kernels.composite and kernels.warp_layers, plus
 * S (symbol layers are 0..S-1, occluders S..L-1) and masks: uint8 (n, H, W, S) or NULL.
 * Returns 0, or -1 when out of memory.
 */
int sp_render(uint8_t *out, uint8_t *masks, int64_t n, int64_t L, int64_t S, int64_t H, int64_t W, int64_t C,
              const int64_t *gid, const double *inv, const int64_t *box, const uint8_t *data, const int64_t *off,
              const int64_t *hw, const uint8_t *active, const int64_t *kinds, const double *params,
              const float *tex, const int64_t *tex_row, int32_t gray, const uint8_t *inverse, int32_t contrast,
              const double *sigma, uint64_t seed, const int64_t *index, const float *lut) {
    enum { BLOCK = 256 }; /* pixels quantised per block of noise (kept in L1 with the image) */
    const int64_t P = H * W;
    float *buf = malloc(sizeof(float) * (3 * P + 3 * W + W + 3 * BLOCK + P));
    uint8_t *alpha = malloc((size_t)(L > 0 ? L : 1) * P);
    if (!buf || !alpha) {
        free(buf);
        free(alpha);
        return -1;
    }
    float *restrict img = buf, *restrict fg = buf + 3 * P, *restrict a = fg + 3 * W;
    float *restrict noise = a + W, *restrict remaining = noise + 3 * BLOCK;
    const float inv255 = (float)(1.0 / 255.0);
    for (int64_t s = 0; s < n; s++) {
        const int64_t *ks = kinds + s * (L + 1), *tr = tex_row + s * (L + 1);
        const double *ps = params + s * (L + 1) * N_PARAMS;
        if (s + 2 < n) /* the sample after next's glyphs: scattered over the atlas, rarely in cache */
            for (int64_t l = 0; l < L; l++) {
                const int64_t g = gid[(s + 2) * L + l];
                if (g < 0) continue;
                const uint8_t *q = data + off[g];
                for (int64_t b = 0; b < hw[2 * g] * hw[2 * g + 1]; b += 64) __builtin_prefetch(q + b);
            }
        memset(alpha, 0, (size_t)L * P);
        for (int64_t l = 0; l < L; l++) {
            const int64_t g = gid[s * L + l];
            if (g >= 0)
                warp_one(alpha + l * P, inv + (s * L + l) * 6, box + (s * L + l) * 4, data, off[g], hw[2 * g],
                         hw[2 * g + 1], W);
        }
        fill_pattern(img, ks[0], ps, tex, tr[0], H, W);
        for (int64_t l = 0; l < L; l++) {
            if (!active[s * L + l]) continue;
            /* rows outside the layer's box have zero coverage: blending them would only turn a
             * -0.0 into +0.0, which no later step can tell apart (every value ends + 0.5, truncated) */
            const int64_t *bx = box + (s * L + l) * 4;
            for (int64_t i = bx[0]; i < bx[1]; i++) {
                fill_rows(fg, fg + W, fg + 2 * W, ks[l + 1], ps + (l + 1) * N_PARAMS, tex, tr[l + 1], H, W, i, i + 1);
                const uint8_t *al = alpha + l * P + i * W;
                for (int64_t j = 0; j < W; j++) a[j] = (float)al[j] * inv255;
                for (int64_t c = 0; c < 3; c++) {
                    float *restrict ic = img + c * P + i * W;
                    const float *restrict fc = fg + c * W;
                    for (int64_t j = 0; j < W; j++) ic[j] += a[j] * (fc[j] - ic[j]);
                }
            }
        }
        if (gray)
            for (int64_t k = 0; k < P; k++) img[k] = (img[k] + img[P + k] + img[2 * P + k]) * (float)(1.0 / 3.0);
        /* inversion, clamp to [0, 1] and (contrast) min / max over the clamped values' int32 bits,
         * as kernels.composite, in one pass */
        const int inv_s = inverse[s] != 0;
        float lo = 0.0f, hi = 1.0f;
        int32_t ilo = INT32_MAX, ihi = INT32_MIN;
        for (int64_t k = 0; k < C * P; k++) {
            const float v = pmin(pmax(inv_s ? 1.0f - img[k] : img[k], 0.0f), 1.0f);
            int32_t b;
            img[k] = v;
            memcpy(&b, &v, 4);
            ilo = b < ilo ? b : ilo;
            ihi = b > ihi ? b : ihi;
        }
        if (contrast) {
            memcpy(&lo, &ilo, 4);
            memcpy(&hi, &ihi, 4);
            if (hi - lo < 1e-6f) hi = lo + 1e-6f;
        }
        const float scale = 255.0f / (hi - lo);
        const float sg = (float)(sigma[s] * 255.0);
        uint64_t key = 0;
        if (sg > 0) key = mix64(seed ^ mix64((uint64_t)index[s] + 0x9E3779B97F4A7C15ULL));
        const uint32_t kk = (uint32_t)(key >> 32) ^ (uint32_t)(key & 0xFFFFFFFFULL);
        uint8_t *restrict dst = out + s * P * C;
        for (int64_t k0 = 0; k0 < P; k0 += BLOCK) {
            const int64_t nb = P - k0 < BLOCK ? P - k0 : BLOCK;
            float *restrict n0 = noise, *restrict n1 = noise + BLOCK, *restrict n2 = noise + 2 * BLOCK;
            if (sg > 0) {
                for (int64_t c = 0; c < C; c++) noise_span(noise + c * BLOCK, c * P + k0, nb, kk, lut);
            } else {
                memset(noise, 0, sizeof(float) * 3 * BLOCK);
            }
            const float *restrict i0 = img + k0;
            if (C == 3) {
                const float *restrict i1 = img + P + k0, *restrict i2 = img + 2 * P + k0;
                uint8_t *restrict d = dst + 3 * k0;
                for (int64_t k = 0; k < nb; k++) {
                    d[3 * k] = q8((i0[k] - lo) * scale + sg * n0[k] + 0.5f);
                    d[3 * k + 1] = q8((i1[k] - lo) * scale + sg * n1[k] + 0.5f);
                    d[3 * k + 2] = q8((i2[k] - lo) * scale + sg * n2[k] + 0.5f);
                }
            } else {
                for (int64_t k = 0; k < nb; k++) dst[k0 + k] = q8((i0[k] - lo) * scale + sg * n0[k] + 0.5f);
            }
        }
        if (masks) { /* coverage of symbol j after every layer above it, as kernels._visible_masks */
            for (int64_t k = 0; k < P; k++) remaining[k] = 1.0f;
            for (int64_t l = L - 1; l >= S; l--) {
                const uint8_t *al = alpha + l * P;
                for (int64_t k = 0; k < P; k++) remaining[k] *= 1.0f - (float)al[k] * inv255;
            }
            uint8_t *restrict ms = masks + s * P * S;
            for (int64_t j = S - 1; j >= 0; j--) {
                const uint8_t *al = alpha + j * P;
                for (int64_t k = 0; k < P; k++) {
                    const float aj = (float)al[k] * inv255;
                    ms[k * S + j] = (uint8_t)rintf(aj * remaining[k] * 255.0f);
                    remaining[k] *= 1.0f - aj;
                }
            }
        }
    }
    free(buf);
    free(alpha);
    return 0;
}

/* Camouflage strokes: n antialiased round-capped segments per image, painted in order.
 *
 * out float32 (b, H, W, 3) <- the strokes over black; seg float32 (b, n, 4): ax, ay, bx, by in
 * pixels (pixel (i, j) has its centre at (j + 0.5, i + 0.5)); col uint8 (b, n, 3); r: half the
 * stroke width, px. A pixel's coverage is clamp(r + 0.5 - d, 0, 1), d its centre's distance to
 * the segment; it takes colour + coverage * (stroke colour - colour). kernels.strokes does the
 * same arithmetic (the pixels outside a stroke's box have coverage 0, which changes nothing).
 * Returns 0, or -1 when out of memory.
 */
int sp_strokes(float *out, int64_t b, int64_t H, int64_t W, int64_t n, const float *seg, const uint8_t *col,
               float r) {
    const int64_t P = H * W;
    float *canvas = malloc(sizeof(float) * 3 * (P > 0 ? P : 1));
    if (!canvas) return -1;
    const float inv255 = (float)(1.0 / 255.0), R = r + 0.5f;
    for (int64_t m = 0; m < b; m++) {
        memset(canvas, 0, sizeof(float) * 3 * P);
        for (int64_t s = 0; s < n; s++) {
            const float *g = seg + (m * n + s) * 4;
            const uint8_t *c = col + (m * n + s) * 3;
            const float ax = g[0], ay = g[1], dx = g[2] - g[0], dy = g[3] - g[1];
            const float len2 = dx * dx + dy * dy, inv = len2 > 0.0f ? 1.0f / len2 : 0.0f;
            const float cr = (float)c[0] * inv255, cg = (float)c[1] * inv255, cb = (float)c[2] * inv255;
            int64_t i0 = (int64_t)floorf(pmin(ay, g[3]) - R - 1.0f), i1 = (int64_t)ceilf(pmax(ay, g[3]) + R + 1.0f);
            int64_t j0 = (int64_t)floorf(pmin(ax, g[2]) - R - 1.0f), j1 = (int64_t)ceilf(pmax(ax, g[2]) + R + 1.0f);
            i0 = i0 < 0 ? 0 : i0;
            j0 = j0 < 0 ? 0 : j0;
            i1 = i1 > H ? H : i1;
            j1 = j1 > W ? W : j1;
            for (int64_t i = i0; i < i1; i++) { /* the stroke's box (row spans measured slower) */
                const float uy = ((float)i + 0.5f) - ay;
                float *restrict p0 = canvas + i * W, *restrict p1 = p0 + P, *restrict p2 = p1 + P;
                for (int64_t j = j0; j < j1; j++) {
                    const float ux = ((float)j + 0.5f) - ax;
                    const float t = pmin(pmax((ux * dx + uy * dy) * inv, 0.0f), 1.0f);
                    const float ex = ux - t * dx, ey = uy - t * dy;
                    const float cov = pmin(pmax(R - sqrtf(ex * ex + ey * ey), 0.0f), 1.0f);
                    p0[j] += cov * (cr - p0[j]);
                    p1[j] += cov * (cg - p1[j]);
                    p2[j] += cov * (cb - p2[j]);
                }
            }
        }
        interleave(out + m * P * 3, canvas, P);
    }
    free(canvas);
    return 0;
}
