// The pod sandbox's process: holds the pod's namespaces and does nothing until SIGINT or SIGTERM. It also reaps
// zombies, as PID 1 of a shared-PID pod must. Built static (no libc in the image).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

static void stop(int sig) { (void)sig; _exit(0); }
static void reap(int sig) { (void)sig; while (waitpid(-1, 0, WNOHANG) > 0) {} }

int main(void) {
  signal(SIGINT, stop);
  signal(SIGTERM, stop);
  signal(SIGCHLD, reap);
  for (;;) pause();
}
