/* String functions: the str* and mem* families, conversions and
 * formatting. libcs pick SSE variants of these by CPUID, so every
 * alignment and length up to a few cache lines is swept and hashed. */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static uint64_t h = 1469598103934665603ULL;
static void mix(uint64_t v) { h = (h ^ v) * 1099511628211ULL; }
static uint64_t pos(const char *base, const void *p) { return p ? (uint64_t)((const char *)p - base) : 999; }

/* Searches and comparisons at every offset and length in a 320-byte buffer. */
static void sweep(void) {
    static char a[320], b[320];
    for (int off = 0; off < 64; off++) {
        for (int len = 0; len < 256; len += 7) {
            memset(a, 'x', sizeof a);
            a[off + len] = 0;
            a[off + len / 2] = 'q';
            memcpy(b, a, sizeof b);
            mix(strlen(a + off));
            mix(pos(a, strchr(a + off, 'q')));
            mix(pos(a, strrchr(a + off, 'x')));
            mix(pos(a, memchr(a + off, 'q', (size_t)len + 1)));
            mix(pos(a, strstr(a + off, "xq")));
            mix(strcmp(a + off, b + off) == 0);
            b[off + len / 3] = 'y';
            mix(strcmp(a + off, b + off) < 0);
            mix(memcmp(a + off, b + off, (size_t)len) > 0);
            mix(strncmp(a + off, b + off, (size_t)len / 3) == 0);
        }
    }
    printf("sweep hash=%016llx\n", (unsigned long long)h);
}

static void tokens(void) {
    char line[] = "alpha, beta;;gamma , delta";
    char *save = NULL;
    printf("tokens:");
    for (char *t = strtok_r(line, ",; ", &save); t; t = strtok_r(NULL, ",; ", &save))
        printf(" [%s]", t);
    printf("\n");
}

int main(void) {
    char buf[64];
    strcpy(buf, "Hello");
    strcat(buf, ", World");
    strncat(buf, "!", sizeof buf - strlen(buf) - 1);
    printf("cat=%s len=%zu\n", buf, strlen(buf));
    printf("cmp=%d ncmp=%d casecmp=%d\n", strcmp("abc", "abd") < 0, strncmp("abc", "abd", 2),
           strcasecmp("HeLLo", "hello"));
    printf("spn=%zu cspn=%zu pbrk=%s\n", strspn("aabbcxyz", "abc"), strcspn("hello world", " "),
           strpbrk("hello world", "ow"));
    memmove(buf + 2, buf, 10);
    printf("memmove=%.14s\n", buf);
    char *d = strdup("duplicate me");
    for (char *p = d; *p; p++) *p = (char)toupper((unsigned char)*p);
    printf("strdup+toupper=%s\n", d);
    free(d);
    char *end;
    long v = strtol("  -0x1fZ", &end, 16);
    printf("strtol=%ld rest=%s strtoul=%lu atoi=%d\n", v, end, strtoul("777", NULL, 8), atoi("42abc"));
    printf("fmt=[%8.3f] [%-6d] [%06x] [%s] [%c] [%e]\n", 3.14159, 42, 0xbeef, "str", 'z', 12345.678);
    tokens();
    sweep();
    return 0;
}
