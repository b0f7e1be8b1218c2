/* Files a contract creates for itself: tmpfile(), mkstemp() in /tmp
 * (write, read back, unlink), stat(".") and a relative path opened after
 * chdir("/tmp"). Prints only fixed facts (not the generated names); a
 * failed self-check prints its line and exits with its section's code
 * (10 + the section's number). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int section;

#define CHECK(cond)                                                       \
    do {                                                                  \
        if (!(cond)) {                                                    \
            printf("FAIL line %d: %s\n", __LINE__, #cond);                \
            fflush(stdout);                                               \
            exit(10 + section);                                           \
        }                                                                 \
    } while (0)

static const char text[] = "written by a contract, read back by it\n";

static void test_tmpfile(void) {
    section = 1;
    FILE *f = tmpfile();
    CHECK(f != NULL);
    for (int i = 0; i < 100; i++) CHECK(fprintf(f, "%d:%s", i, text) > 0);
    long size = ftell(f);
    rewind(f);
    char line[128];
    int lines = 0;
    while (fgets(line, sizeof line, f)) {
        int n;
        char rest[128];
        CHECK(sscanf(line, "%d:%127[^\n]", &n, rest) == 2 && n == lines);
        lines++;
    }
    CHECK(lines == 100);
    /* tmpfile()'s file has no name left: one link fewer than a file. */
    struct stat st;
    CHECK(fstat(fileno(f), &st) == 0 && st.st_nlink == 0 && st.st_size == size);
    fclose(f);
    printf("tmpfile: %d lines, %ld bytes, unlinked while open\n", lines, size);
}

static void test_mkstemp(void) {
    section = 2;
    char name[] = "/tmp/qvm-corpus-XXXXXX";
    int fd = mkstemp(name);
    CHECK(fd >= 0);
    /* The six X are replaced (a replacement may itself contain an X). */
    CHECK(strncmp(name, "/tmp/qvm-corpus-", 16) == 0 && strlen(name) == 22);
    CHECK(strcmp(name + 16, "XXXXXX") != 0);
    CHECK(write(fd, text, sizeof text - 1) == (ssize_t)(sizeof text - 1));
    CHECK(lseek(fd, 0, SEEK_SET) == 0);
    char back[sizeof text] = {0};
    CHECK(read(fd, back, sizeof back) == (ssize_t)(sizeof text - 1));
    CHECK(memcmp(back, text, sizeof text - 1) == 0);
    struct stat st;
    CHECK(stat(name, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0777) == 0600);
    CHECK(st.st_size == (off_t)(sizeof text - 1));
    /* Another descriptor on the same file sees the same bytes. */
    int fd2 = open(name, O_RDONLY);
    CHECK(fd2 >= 0);
    char again[sizeof text] = {0};
    CHECK(read(fd2, again, sizeof again) == (ssize_t)(sizeof text - 1));
    CHECK(strcmp(again, text) == 0);
    close(fd2);
    close(fd);
    CHECK(unlink(name) == 0);
    CHECK(stat(name, &st) == -1 && errno == ENOENT);
    CHECK(open(name, O_RDONLY) == -1 && errno == ENOENT);
    printf("mkstemp: /tmp/qvm-corpus-XXXXXX created 0600, %zu bytes read back, unlinked\n",
           sizeof text - 1);
}

static void test_cwd(void) {
    section = 3;
    struct stat dot, root;
    CHECK(stat(".", &dot) == 0 && S_ISDIR(dot.st_mode));
    CHECK(stat("/", &root) == 0 && S_ISDIR(root.st_mode));
    CHECK(chdir("/tmp") == 0);
    char cwd[256];
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    CHECK(stat(".", &dot) == 0 && S_ISDIR(dot.st_mode));
    /* A name relative to the new directory. */
    char rel[64];
    snprintf(rel, sizeof rel, "qvm-corpus-rel-%d", (int)getpid());
    int fd = open(rel, O_CREAT | O_EXCL | O_WRONLY, 0644);
    CHECK(fd >= 0);
    CHECK(write(fd, "relative\n", 9) == 9);
    close(fd);
    char abs[128];
    snprintf(abs, sizeof abs, "/tmp/%s", rel);
    struct stat st;
    CHECK(stat(abs, &st) == 0 && st.st_size == 9);
    CHECK(open(rel, O_CREAT | O_EXCL | O_WRONLY, 0644) == -1 && errno == EEXIST);
    FILE *f = fopen(rel, "r");
    CHECK(f != NULL);
    char line[32] = {0};
    CHECK(fgets(line, sizeof line, f) && strcmp(line, "relative\n") == 0);
    fclose(f);
    CHECK(unlink(rel) == 0);
    CHECK(stat(abs, &st) == -1 && errno == ENOENT);
    printf("cwd: \".\" is a directory; after chdir(\"/tmp\") getcwd is %s, a relative file made, read, unlinked\n",
           cwd);
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    test_tmpfile();
    test_mkstemp();
    test_cwd();
    printf("tmpfiles: all checks passed\n");
    return 0;
}
