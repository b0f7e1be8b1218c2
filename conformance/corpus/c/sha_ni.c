/* SHA-1 and SHA-256 computed with the SHA extensions (SHA1RNDS4,
 * SHA1NEXTE, SHA1MSG1/2, SHA256RNDS2, SHA256MSG1/2), checked against the
 * FIPS 180 test vectors and against plain C implementations on random
 * messages, plus each instruction's result on fixed operands, one with a
 * misaligned memory operand. SHA is a hazard of qvm's CPU profile (hosts
 * without it raise #UD): the runner judges this program natively and on
 * KVM only where the host CPU has SHA. Exits 1, with a line on stderr,
 * when a digest is wrong. */
#include <immintrin.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SHA __attribute__((target("sha,sse4.1")))

static int failures;

static uint32_t rol(uint32_t x, int n) { return x << n | x >> (32 - n); }
static uint32_t ror(uint32_t x, int n) { return x >> n | x << (32 - n); }
static uint32_t be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static const uint32_t K256[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

/* One 64-byte block, plain C (FIPS 180-4, 6.2.2). */
static void sha256_block_c(uint32_t h[8], const uint8_t *p) {
    uint32_t w[64], v[8];
    for (int t = 0; t < 16; t++) w[t] = be32(p + 4 * t);
    for (int t = 16; t < 64; t++) {
        uint32_t s0 = ror(w[t - 15], 7) ^ ror(w[t - 15], 18) ^ w[t - 15] >> 3;
        uint32_t s1 = ror(w[t - 2], 17) ^ ror(w[t - 2], 19) ^ w[t - 2] >> 10;
        w[t] = w[t - 16] + s0 + w[t - 7] + s1;
    }
    memcpy(v, h, sizeof v);
    for (int t = 0; t < 64; t++) {
        uint32_t t1 = v[7] + (ror(v[4], 6) ^ ror(v[4], 11) ^ ror(v[4], 25)) +
                      ((v[4] & v[5]) ^ (~v[4] & v[6])) + K256[t] + w[t];
        uint32_t t2 = (ror(v[0], 2) ^ ror(v[0], 13) ^ ror(v[0], 22)) +
                      ((v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]));
        memmove(v + 1, v, 7 * sizeof v[0]);
        v[4] += t1;
        v[0] = t1 + t2;
    }
    for (int i = 0; i < 8; i++) h[i] += v[i];
}

/* The same block with SHA256RNDS2 (two rounds each, W+K in XMM0) and the
 * message schedule from SHA256MSG1 and SHA256MSG2. The state travels as
 * ABEF and CDGH, A and C in the top dwords. */
SHA static void sha256_block_ni(uint32_t h[8], const uint8_t *p) {
    const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
    __m128i abef = _mm_set_epi32((int)h[0], (int)h[1], (int)h[4], (int)h[5]);
    __m128i cdgh = _mm_set_epi32((int)h[2], (int)h[3], (int)h[6], (int)h[7]);
    __m128i abef0 = abef, cdgh0 = cdgh, m[4];
    for (int i = 0; i < 4; i++)
        m[i] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * i)), bswap);
    for (int i = 0; i < 16; i++) {
        if (i >= 4) {
            /* W[4i..4i+3] from the four groups before it. */
            __m128i w = _mm_sha256msg1_epu32(m[i % 4], m[(i + 1) % 4]);
            w = _mm_add_epi32(w, _mm_alignr_epi8(m[(i + 3) % 4], m[(i + 2) % 4], 4));
            m[i % 4] = _mm_sha256msg2_epu32(w, m[(i + 3) % 4]);
        }
        __m128i wk = _mm_add_epi32(m[i % 4], _mm_loadu_si128((const __m128i *)&K256[4 * i]));
        cdgh = _mm_sha256rnds2_epu32(cdgh, abef, wk);
        abef = _mm_sha256rnds2_epu32(abef, cdgh, _mm_shuffle_epi32(wk, 0x0e));
    }
    abef = _mm_add_epi32(abef, abef0);
    cdgh = _mm_add_epi32(cdgh, cdgh0);
    uint32_t x[4], y[4];
    _mm_storeu_si128((__m128i *)x, abef);
    _mm_storeu_si128((__m128i *)y, cdgh);
    h[0] = x[3], h[1] = x[2], h[4] = x[1], h[5] = x[0];
    h[2] = y[3], h[3] = y[2], h[6] = y[1], h[7] = y[0];
}

/* One block, plain C (FIPS 180-4, 6.1.2). */
static void sha1_block_c(uint32_t h[5], const uint8_t *p) {
    uint32_t w[80], a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    for (int t = 0; t < 16; t++) w[t] = be32(p + 4 * t);
    for (int t = 16; t < 80; t++) w[t] = rol(w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16], 1);
    for (int t = 0; t < 80; t++) {
        uint32_t f, k;
        if (t < 20) f = (b & c) ^ (~b & d), k = 0x5a827999;
        else if (t < 40) f = b ^ c ^ d, k = 0x6ed9eba1;
        else if (t < 60) f = (b & c) ^ (b & d) ^ (c & d), k = 0x8f1bbcdc;
        else f = b ^ c ^ d, k = 0xca62c1d6;
        uint32_t t1 = rol(a, 5) + f + e + k + w[t];
        e = d, d = c, c = rol(b, 30), b = a, a = t1;
    }
    h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e;
}

/* The same block with SHA1RNDS4 (four rounds, the function in its
 * immediate), SHA1NEXTE (the next E) and SHA1MSG1/SHA1MSG2 (schedule).
 * ABCD travel in one register, A on top; E in the top dword of another. */
#define SHA1_ROUNDS(i)                                                           \
    do {                                                                         \
        if ((i) >= 4) {                                                          \
            __m128i w = _mm_sha1msg1_epu32(m[(i) % 4], m[((i) + 1) % 4]);        \
            w = _mm_xor_si128(w, m[((i) + 2) % 4]);                              \
            m[(i) % 4] = _mm_sha1msg2_epu32(w, m[((i) + 3) % 4]);                \
        }                                                                        \
        __m128i e = (i) == 0 ? _mm_add_epi32(e0, m[0])                           \
                             : _mm_sha1nexte_epu32(prev, m[(i) % 4]);            \
        prev = abcd;                                                             \
        abcd = _mm_sha1rnds4_epu32(abcd, e, (i) / 5);                            \
    } while (0)

SHA static void sha1_block_ni(uint32_t h[5], const uint8_t *p) {
    const __m128i bswap = _mm_set_epi64x(0x0001020304050607ULL, 0x08090a0b0c0d0e0fULL);
    __m128i abcd = _mm_set_epi32((int)h[0], (int)h[1], (int)h[2], (int)h[3]);
    __m128i e0 = _mm_set_epi32((int)h[4], 0, 0, 0);
    __m128i abcd0 = abcd, prev = abcd, m[4];
    for (int i = 0; i < 4; i++)
        m[i] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * i)), bswap);
    /* The immediate must be a constant: the twenty groups spelled out. */
    SHA1_ROUNDS(0); SHA1_ROUNDS(1); SHA1_ROUNDS(2); SHA1_ROUNDS(3); SHA1_ROUNDS(4);
    SHA1_ROUNDS(5); SHA1_ROUNDS(6); SHA1_ROUNDS(7); SHA1_ROUNDS(8); SHA1_ROUNDS(9);
    SHA1_ROUNDS(10); SHA1_ROUNDS(11); SHA1_ROUNDS(12); SHA1_ROUNDS(13); SHA1_ROUNDS(14);
    SHA1_ROUNDS(15); SHA1_ROUNDS(16); SHA1_ROUNDS(17); SHA1_ROUNDS(18); SHA1_ROUNDS(19);
    __m128i e = _mm_sha1nexte_epu32(prev, e0);
    abcd = _mm_add_epi32(abcd, abcd0);
    uint32_t x[4], y[4];
    _mm_storeu_si128((__m128i *)x, abcd);
    _mm_storeu_si128((__m128i *)y, e);
    h[0] = x[3], h[1] = x[2], h[2] = x[1], h[3] = x[0], h[4] = y[3];
}

typedef void block_fn(uint32_t *h, const uint8_t *p);

/* Merkle-Damgard padding (both hashes pad alike) and the digest in hex. */
static void digest(block_fn *block, int words, const uint8_t *msg, size_t len, char *hex) {
    static const uint32_t init256[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                        0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    static const uint32_t init1[5] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0};
    uint32_t h[8];
    uint8_t tail[128] = {0};
    size_t full = len / 64, rest = len % 64, tail_len = rest < 56 ? 64 : 128;
    uint64_t bits = (uint64_t)len * 8;
    memcpy(h, words == 8 ? init256 : init1, (size_t)words * 4);
    for (size_t i = 0; i < full; i++) block(h, msg + 64 * i);
    memcpy(tail, msg + 64 * full, rest);
    tail[rest] = 0x80;
    for (int i = 0; i < 8; i++) tail[tail_len - 1 - i] = (uint8_t)(bits >> (8 * i));
    for (size_t off = 0; off < tail_len; off += 64) block(h, tail + off);
    for (int i = 0; i < words; i++) sprintf(hex + 8 * i, "%08x", h[i]);
}

static void expect(const char *what, const char *got, const char *want) {
    printf("%s %s\n", what, got);
    if (strcmp(got, want) != 0) {
        fprintf(stderr, "%s: got %s, want %s\n", what, got, want);
        failures++;
    }
}

/* FIPS 180 examples (and the NIST one-million-'a' vector). */
static void vectors(void) {
    static const char *msgs[3] = {
        "", "abc", "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"};
    static const char *want256[4] = {
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"};
    static const char *want1[4] = {
        "da39a3ee5e6b4b0d3255bfef95601890afd80709", "a9993e364706816aba3e25717850c26c9cd0d89d",
        "84983e441c3bd26ebaae4aa1f95129e5e54670f1", "34aa973cd4c4daa4f61eeb2bdbad27316534016f"};
    uint8_t *million = malloc(1000000);
    char hex[65], what[64];
    if (!million) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    memset(million, 'a', 1000000);
    for (int i = 0; i < 4; i++) {
        const uint8_t *m = i < 3 ? (const uint8_t *)msgs[i] : million;
        size_t len = i < 3 ? strlen(msgs[i]) : 1000000;
        snprintf(what, sizeof what, "sha256-ni vector %d", i);
        digest(sha256_block_ni, 8, m, len, hex);
        expect(what, hex, want256[i]);
        snprintf(what, sizeof what, "sha1-ni vector %d", i);
        digest(sha1_block_ni, 5, m, len, hex);
        expect(what, hex, want1[i]);
    }
    free(million);
}

/* Random messages of every length up to 300 bytes: the instructions
 * against plain C. */
static void random_messages(void) {
    uint8_t buf[300];
    uint64_t x = 0x9e3779b97f4a7c15ULL, mix = 1469598103934665603ULL;
    char a[65], b[65];
    int agreed = 0;
    for (size_t len = 0; len <= sizeof buf; len++) {
        for (size_t i = 0; i < len; i++) {
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
            buf[i] = (uint8_t)(x >> 56);
        }
        digest(sha256_block_ni, 8, buf, len, a);
        digest(sha256_block_c, 8, buf, len, b);
        agreed += strcmp(a, b) == 0;
        for (const char *c = a; *c; c++) mix = (mix ^ (uint8_t)*c) * 1099511628211ULL;
        digest(sha1_block_ni, 5, buf, len, a);
        digest(sha1_block_c, 5, buf, len, b);
        agreed += strcmp(a, b) == 0;
        for (const char *c = a; *c; c++) mix = (mix ^ (uint8_t)*c) * 1099511628211ULL;
    }
    printf("random messages: %d of %d digests agree with plain C, hash %016llx\n", agreed,
           2 * (int)(sizeof buf + 1), (unsigned long long)mix);
    if (agreed != 2 * (int)(sizeof buf + 1)) {
        fprintf(stderr, "random messages: %d digests differ from plain C\n",
                2 * (int)(sizeof buf + 1) - agreed);
        failures++;
    }
}

static void show(const char *what, __m128i v) {
    uint32_t x[4];
    _mm_storeu_si128((__m128i *)x, v);
    printf("%-14s %08x %08x %08x %08x\n", what, x[3], x[2], x[1], x[0]);
}

/* Each instruction on fixed operands; SHA256MSG1 also with a memory
 * operand one byte past a 16-byte boundary, which SHA allows (no #GP). */
SHA static void single_instructions(void) {
    static uint8_t bytes[48] __attribute__((aligned(16)));
    for (int i = 0; i < 48; i++) bytes[i] = (uint8_t)(i * 37 + 11);
    __m128i a = _mm_set_epi32(0x01234567, (int)0x89abcdef, (int)0xfedcba98, 0x76543210);
    __m128i b = _mm_set_epi32(0x0f1e2d3c, 0x4b5a6978, (int)0x8796a5b4, (int)0xc3d2e1f0);
    __m128i k = _mm_set_epi32(0x11111111, 0x22222222, 0x428a2f98, 0x71374491);
    show("sha1rnds4 0", _mm_sha1rnds4_epu32(a, b, 0));
    show("sha1rnds4 1", _mm_sha1rnds4_epu32(a, b, 1));
    show("sha1rnds4 2", _mm_sha1rnds4_epu32(a, b, 2));
    show("sha1rnds4 3", _mm_sha1rnds4_epu32(a, b, 3));
    show("sha1nexte", _mm_sha1nexte_epu32(a, b));
    show("sha1msg1", _mm_sha1msg1_epu32(a, b));
    show("sha1msg2", _mm_sha1msg2_epu32(a, b));
    show("sha256rnds2", _mm_sha256rnds2_epu32(a, b, k));
    show("sha256msg1", _mm_sha256msg1_epu32(a, b));
    show("sha256msg2", _mm_sha256msg2_epu32(a, b));
    __m128i r = a;
    __asm__("sha256msg1 %1, %0" : "+x"(r) : "m"(*(const uint8_t(*)[16])(bytes + 17)));
    show("misaligned m128", r);
}

/* SHA works on XMM registers only: the x87 tag word stays empty (an
 * MMX instruction would have marked every register valid). */
SHA static void x87_untouched(void) {
    struct {
        uint16_t cw, r0, sw, r1, tw, rest[9];
    } env;
    __m128i v = _mm_set1_epi32(7);
    v = _mm_sha1msg1_epu32(v, v);
    v = _mm_sha256msg2_epu32(v, v);
    __asm__ volatile("" : "+x"(v));
    __asm__ volatile("fnstenv %0" : "=m"(env));
    __asm__ volatile("fldcw %0" : : "m"(env.cw));
    printf("x87 tag word after SHA: %04x\n", env.tw);
}

int main(void) {
    vectors();
    random_messages();
    single_instructions();
    x87_untouched();
    return failures ? 1 : 0;
}
