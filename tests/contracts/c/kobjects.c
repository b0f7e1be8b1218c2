/* Kernel objects in one thread: pipes, eventfd, poll, select, epoll (level
 * and edge triggered, Go's netpoller pattern), and files in /tmp
 * (tmpfile, mkstemp, mkdtemp, a current directory, relative paths,
 * rename, readdir). Only non-blocking paths and zero timeouts. The output
 * is the same natively and under qvm. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHECK(x)                                                               \
  do {                                                                         \
    if (!(x)) {                                                                \
      printf("FAILED line %d: %s (errno %d)\n", __LINE__, #x, errno);          \
      return 1;                                                                \
    }                                                                          \
  } while (0)

static int pipes(void) {
  int p[2];
  CHECK(pipe2(p, O_NONBLOCK | O_CLOEXEC) == 0);
  printf("pipe size %d\n", fcntl(p[0], F_GETPIPE_SZ));
  char buf[4096];
  memset(buf, 'p', sizeof buf);
  int writes = 0;
  while (write(p[1], buf, sizeof buf) == sizeof buf)
    writes++;
  printf("filled with %d writes of 4096, then errno %s\n", writes,
         errno == EAGAIN ? "EAGAIN" : "other");
  int n = 0;
  CHECK(ioctl(p[0], FIONREAD, &n) == 0);
  printf("FIONREAD %d\n", n);
  struct pollfd pf[3] = {{p[0], POLLIN, 0}, {p[1], POLLOUT, 0}, {0, POLLIN, 0}};
  n = poll(pf, 2, 0);
  printf("poll %d: %x %x\n", n, pf[0].revents, pf[1].revents);
  while (read(p[0], buf, sizeof buf) > 0)
    ;
  printf("drained: errno %s\n", errno == EAGAIN ? "EAGAIN" : "other");
  n = poll(pf, 2, 0);
  printf("poll %d: %x %x\n", n, pf[0].revents, pf[1].revents);
  close(p[1]);
  ssize_t r = read(p[0], buf, 1);
  n = poll(pf, 1, 0);
  printf("after close: read %zd, poll %d: %x\n", r, n, pf[0].revents);
  struct stat st;
  CHECK(fstat(p[0], &st) == 0);
  printf("fifo %d\n", S_ISFIFO(st.st_mode));
  close(p[0]);
  return 0;
}

static int events(void) {
  int e = eventfd(2, EFD_NONBLOCK | EFD_SEMAPHORE);
  CHECK(e >= 0);
  uint64_t v;
  CHECK(read(e, &v, 8) == 8);
  printf("semaphore read %llu\n", (unsigned long long)v);
  CHECK(read(e, &v, 8) == 8);
  ssize_t r = read(e, &v, 8);
  printf("again: %zd errno %s\n", r, errno == EAGAIN ? "EAGAIN" : "other");
  r = read(e, &v, 4);
  printf("short read %zd errno %s\n", r, errno == EINVAL ? "EINVAL" : "other");
  v = 0xfffffffffffffffeULL;
  CHECK(write(e, &v, 8) == 8);
  v = 1;
  r = write(e, &v, 8);
  printf("overflow: %zd errno %s\n", r, errno == EAGAIN ? "EAGAIN" : "other");
  close(e);
  return 0;
}

static int selects(void) {
  int p[2];
  CHECK(pipe(p) == 0);
  fd_set r, w;
  FD_ZERO(&r);
  FD_ZERO(&w);
  FD_SET(p[0], &r);
  FD_SET(p[1], &w);
  struct timeval tv = {0, 0};
  int n = select(p[1] + 1, &r, &w, NULL, &tv);
  printf("select %d: r %d w %d\n", n, FD_ISSET(p[0], &r), FD_ISSET(p[1], &w));
  CHECK(write(p[1], "x", 1) == 1);
  FD_SET(p[0], &r);
  struct timespec ts = {0, 0};
  n = pselect(p[0] + 1, &r, NULL, NULL, &ts, NULL);
  printf("pselect %d: r %d\n", n, FD_ISSET(p[0], &r));
  close(p[0]);
  close(p[1]);
  return 0;
}

static int epolls(void) {
  int ep = epoll_create1(EPOLL_CLOEXEC);
  CHECK(ep >= 0);
  int e = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  int p[2];
  CHECK(pipe2(p, O_NONBLOCK) == 0);
  struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | EPOLLET, .data.u64 = 0xe7};
  CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, e, &ev) == 0);
  ev = (struct epoll_event){.events = EPOLLIN, .data.u64 = 0x91};
  CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev) == 0);
  int rc = epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
  printf("add twice: %d errno %s\n", rc, errno == EEXIST ? "EEXIST" : "other");
  struct epoll_event out[8];
  printf("nothing ready: %d\n", epoll_wait(ep, out, 8, 0));
  uint64_t one = 1;
  for (int round = 0; round < 3; round++) {
    CHECK(write(e, &one, 8) == 8);
    int n = epoll_pwait(ep, out, 8, 0, NULL);
    printf("round %d: %d event(s)", round, n);
    for (int i = 0; i < n; i++)
      printf(" %llx:%x", (unsigned long long)out[i].data.u64, out[i].events);
    n = epoll_wait(ep, out, 8, 0);
    printf(", again %d\n", n);
    uint64_t v;
    CHECK(read(e, &v, 8) == 8);
  }
  CHECK(write(p[1], "ab", 2) == 2);
  for (int i = 0; i < 2; i++) {
    int n = epoll_wait(ep, out, 8, 0);
    printf("level %d: %d %llx\n", i, n, n > 0 ? (unsigned long long)out[0].data.u64 : 0ULL);
  }
  close(p[1]);
  int n = epoll_wait(ep, out, 8, 0);
  printf("hangup: %d %x\n", n, n > 0 ? out[0].events : 0);
  close(p[0]);
  printf("closed: %d\n", epoll_wait(ep, out, 8, 0));
  close(e);
  close(ep);
  return 0;
}

static int cmp(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static int files(void) {
  struct stat st;
  CHECK(stat(".", &st) == 0 && S_ISDIR(st.st_mode));
  FILE *f = tmpfile();
  CHECK(f != NULL);
  fprintf(f, "line one\nline two\n");
  rewind(f);
  char line[64];
  CHECK(fgets(line, sizeof line, f) != NULL);
  printf("tmpfile: %s", line);
  fclose(f);

  char name[] = "/tmp/qvm-kobjXXXXXX";
  int rc, fd = mkstemp(name);
  CHECK(fd >= 0);
  CHECK(write(fd, "0123456789", 10) == 10);
  CHECK(pwrite(fd, "AB", 2, 4) == 2);
  char buf[16] = {0};
  CHECK(pread(fd, buf, 10, 0) == 10);
  CHECK(fstat(fd, &st) == 0);
  printf("mkstemp: %s size %lld mode %o\n", buf, (long long)st.st_size, st.st_mode & 0777);
  CHECK(ftruncate(fd, 3) == 0);
  CHECK(lseek(fd, 0, SEEK_END) == 3);
  close(fd);
  CHECK(unlink(name) == 0);
  rc = access(name, F_OK);
  printf("unlinked: %d errno %s\n", rc, errno == ENOENT ? "ENOENT" : "other");

  char dir[] = "/tmp/qvm-kobjXXXXXX";
  CHECK(mkdtemp(dir) != NULL);
  CHECK(chdir(dir) == 0);
  char cwd[PATH_MAX];
  CHECK(getcwd(cwd, sizeof cwd) != NULL);
  printf("cwd is the new dir: %d\n", strcmp(cwd, dir) == 0);
  CHECK(mkdir("sub", 0700) == 0);
  fd = open("sub/../a", O_CREAT | O_WRONLY | O_EXCL, 0600);
  CHECK(fd >= 0);
  close(fd);
  rc = open("a", O_CREAT | O_EXCL, 0600);
  printf("exclusive again: %d errno %s\n", rc, errno == EEXIST ? "EEXIST" : "other");
  CHECK(rename("a", "sub/b") == 0);
  CHECK(link("sub/b", "c") == 0);
  CHECK(stat("c", &st) == 0);
  printf("links %d\n", (int)st.st_nlink);
  rc = rmdir("sub");
  printf("rmdir non-empty: %d errno %s\n", rc, errno == ENOTEMPTY ? "ENOTEMPTY" : "other");
  DIR *d = opendir(".");
  CHECK(d != NULL);
  char *names[8];
  int n = 0;
  struct dirent *de;
  while ((de = readdir(d)) != NULL && n < 8)
    names[n++] = strdup(de->d_name);
  closedir(d);
  qsort(names, n, sizeof names[0], cmp);
  printf("entries:");
  for (int i = 0; i < n; i++)
    printf(" %s", names[i]);
  printf("\n");
  CHECK(unlink("c") == 0 && unlink("sub/b") == 0 && rmdir("sub") == 0);
  CHECK(chdir("/") == 0 && rmdir(dir) == 0);
  rc = access(dir, F_OK);
  printf("clean: %d errno %s\n", rc, errno == ENOENT ? "ENOENT" : "other");
  return 0;
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (pipes() || events() || selects() || epolls() || files())
    return 1;
  printf("done\n");
  return 0;
}
