/* The local chain's token contract (issue 14). token.rs and token.go
 * behave the same, byte for byte. The caller is QVM_SENDER; a balance is
 * stored under bal_<name> and read lazily from the file /state/bal_<name>
 * (absent or empty: 0); a zero balance is deleted, never stored.
 *   construct [SUPPLY]   gives SUPPLY (default 1000000) to the caller
 *   transfer TO AMOUNT   moves AMOUNT from the caller to TO
 *   balance NAME         prints NAME's balance
 * Names are [A-Za-z0-9_]+ and amounts u64 decimals, else exit 2; a
 * balance too small or too large for the transfer: exit 1; a state read
 * that fails or a stored balance that is not a u64: exit 3. Errors go to
 * stderr, which fails the call. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void fail(int code, const char *msg) {
    fputs(msg, stderr);
    exit(code);
}

/* A u64 in decimal: 1 to 20 digits, nothing else. */
static int parse_u64(const char *s, size_t len, uint64_t *out) {
    uint64_t n = 0;
    if (len == 0 || len > 20) return -1;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        uint64_t d = (uint64_t)(s[i] - '0');
        if (n > (UINT64_MAX - d) / 10) return -1;
        n = n * 10 + d;
    }
    *out = n;
    return 0;
}

static uint64_t amount_arg(const char *s) {
    uint64_t n;
    if (parse_u64(s, strlen(s), &n)) fail(2, "bad amount\n");
    return n;
}

static int valid_name(const char *s) {
    if (!s || !*s) return 0;
    for (; *s; s++) {
        char c = *s;
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
            return 0;
    }
    return 1;
}

static const char *name_arg(const char *s) {
    if (!valid_name(s)) fail(2, "bad name\n");
    return s;
}

static const char *sender(void) {
    const char *s = getenv("QVM_SENDER");
    if (!valid_name(s)) fail(2, "bad sender\n");
    return s;
}

static uint64_t balance_of(const char *name) {
    const char *prefix = "/state/bal_";
    char *path = malloc(strlen(prefix) + strlen(name) + 1);
    if (!path) fail(3, "cannot read state\n");
    strcpy(path, prefix);
    strcat(path, name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    free(path);
    if (fd < 0) {
        if (errno == ENOENT) return 0;
        fail(3, "cannot read state\n");
    }
    /* Longer than 20 bytes is not a u64 either: reading 21 tells. */
    char buf[21];
    size_t len = 0;
    ssize_t r;
    while (len < sizeof buf && (r = read(fd, buf + len, sizeof buf - len)) != 0) {
        if (r < 0) fail(3, "cannot read state\n");
        len += (size_t)r;
    }
    close(fd);
    uint64_t n = 0;
    if (len > 0 && parse_u64(buf, len, &n)) fail(3, "bad stored balance\n");
    return n;
}

/* The state change that stores `balance` for `name`. */
static void put_balance(const char *name, uint64_t balance) {
    if (balance == 0)
        printf("DBP=bal_%s\n", name);
    else
        printf("DBW=bal_%s=%" PRIu64 "\n", name, balance);
}

int main(int argc, char **argv) {
    const char *method = argc > 1 ? argv[1] : "";
    if ((argc == 2 || argc == 3) && !strcmp(method, "construct")) {
        const char *owner = sender();
        uint64_t supply = argc == 3 ? amount_arg(argv[2]) : 1000000;
        put_balance(owner, supply);
        printf("DBW=supply=%" PRIu64 "\n", supply);
        return 0;
    }
    if (argc == 4 && !strcmp(method, "transfer")) {
        const char *from = sender();
        const char *to = name_arg(argv[2]);
        uint64_t amount = amount_arg(argv[3]);
        uint64_t from_balance = balance_of(from);
        if (from_balance < amount) fail(1, "insufficient balance\n");
        /* To oneself: no balance changes. */
        if (strcmp(from, to)) {
            uint64_t to_balance = balance_of(to);
            if (to_balance > UINT64_MAX - amount) fail(1, "balance overflow\n");
            put_balance(from, from_balance - amount);
            put_balance(to, to_balance + amount);
        }
        printf("OUT=transfer %s %s %" PRIu64 "\n", from, to, amount);
        return 0;
    }
    if (argc == 3 && !strcmp(method, "balance")) {
        printf("%" PRIu64 "\n", balance_of(name_arg(argv[2])));
        return 0;
    }
    fail(2, "usage: token construct [SUPPLY] | transfer TO AMOUNT | balance NAME\n");
}
