/*
 * The fleet benchmark's mail servers: the seven reference services (SMTP 25/465/587, IMAP 143/993, POP3 110/995
 * behaviour, each on an ephemeral port of 0.0.0.0) in one small epoll loop with OpenSSL, so that the two cores
 * of the benchmark machine go to the prober being measured, as they would where the servers are other machines.
 * It answers exactly as the Node fixtures of src/demo/servers.ts do with their default options (greetings,
 * EHLO/CAPABILITY/CAPA lists, STARTTLS/STLS, AUTH refused before TLS, QUIT/LOGOUT), so a probe's verdict is the
 * same against either. Prints the services and ports as JSON on stdout; ends when stdin closes.
 *
 * Build: cc -O2 -o fleet-server fleet-server.c -lssl -lcrypto     Run: fleet-server CERT.pem KEY.pem
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

enum { SMTP, IMAP, POP3 };

struct service {
  const char *name;
  int protocol;
  int implicit;
  int fd;
  int port;
};

static struct service services[] = {
    {"smtp", SMTP, 0, -1, 0},  {"submissions", SMTP, 1, -1, 0}, {"submission", SMTP, 0, -1, 0},
    {"imap", IMAP, 0, -1, 0},  {"imaps", IMAP, 1, -1, 0},       {"pop3", POP3, 0, -1, 0},
    {"pop3s", POP3, 1, -1, 0},
    /* Plaintext SMTP that offers no STARTTLS: the benchmark's plaintext dialogues (fleet-run.mjs --plain). */
    {"smtp-plain", SMTP, 0, -1, 0},
};
#define SERVICES (sizeof services / sizeof services[0])

struct conn {
  int fd;
  SSL *ssl;
  struct service *service;
  int secure;      /* TLS is up */
  int handshaking; /* a TLS handshake is under way */
  int greeted;     /* the greeting was sent */
  char auth_tag[64];
  char in[2048];
  size_t in_len;
};

static SSL_CTX *context;
static int epoll_fd;
/* Markers for the two kinds of non-connection descriptors in epoll's data. */
static char stdin_marker;

static void drop(struct conn *c) {
  if (c->ssl) SSL_free(c->ssl);
  close(c->fd);
  free(c);
}

static void watch(struct conn *c, unsigned events) {
  struct epoll_event ev = {.events = events, .data.ptr = c};
  epoll_ctl(epoll_fd, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Sends a reply whole; a reply the socket cannot take at once (never seen with these sizes) ends the connection. */
static int send_text(struct conn *c, const char *text) {
  size_t len = strlen(text);
  if (c->ssl) return SSL_write(c->ssl, text, (int)len) == (int)len ? 0 : -1;
  return write(c->fd, text, len) == (ssize_t)len ? 0 : -1;
}

static const char *greeting(int protocol) {
  if (protocol == SMTP) return "220 localhost ESMTP mailprobe-fixture\r\n";
  if (protocol == IMAP) return "* OK [CAPABILITY IMAP4rev1] mailprobe-fixture ready.\r\n";
  return "+OK mailprobe-fixture ready.\r\n";
}

/* The reply to one line, as servers.ts's reply() with default options; *upgrade or *end set when it applies. */
static void answer(struct conn *c, char *line, char *out, size_t size, int *upgrade, int *end) {
  int offer_tls = !c->service->implicit && !c->secure && strcmp(c->service->name, "smtp-plain") != 0;
  int auth_ok = c->secure;
  char verb[32] = "";
  *upgrade = 0;
  *end = 0;
  if (c->service->protocol == SMTP) {
    sscanf(line, "%31s", verb);
    if (!strcasecmp(verb, "EHLO")) {
      snprintf(out, size, "250-localhost greets you\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n%s%s250 8BITMIME\r\n",
               offer_tls ? "250-STARTTLS\r\n" : "", auth_ok ? "250-AUTH PLAIN LOGIN\r\n" : "");
    } else if (!strcasecmp(verb, "HELO")) {
      snprintf(out, size, "250 localhost\r\n");
    } else if (!strcasecmp(verb, "NOOP")) {
      snprintf(out, size, "250 2.0.0 Ok\r\n");
    } else if (!strcasecmp(line, "AUTH LOGIN")) {
      snprintf(out, size, auth_ok ? "334 VXNlcm5hbWU6\r\n" : "530 5.7.0 Must issue a STARTTLS command first\r\n");
    } else if (!strcmp(line, "*")) {
      snprintf(out, size, "501 5.7.0 Authentication aborted\r\n");
    } else if (!strcasecmp(verb, "STARTTLS") && offer_tls) {
      snprintf(out, size, "220 2.0.0 Ready to start TLS\r\n");
      *upgrade = 1;
    } else if (!strcasecmp(verb, "QUIT")) {
      snprintf(out, size, "221 2.0.0 Bye\r\n");
      *end = 1;
    } else {
      snprintf(out, size, "502 5.5.2 Error: command not recognized\r\n");
    }
    return;
  }
  if (c->service->protocol == IMAP) {
    char tag[64] = "*";
    sscanf(line, "%63s %31s", tag, verb);
    if (!strcmp(line, "*") && c->auth_tag[0]) {
      snprintf(out, size, "%s BAD Authentication aborted\r\n", c->auth_tag);
    } else if (!strcasecmp(verb, "CAPABILITY")) {
      snprintf(out, size, "* CAPABILITY IMAP4rev1 SASL-IR%s%s\r\n%s OK Capability completed.\r\n",
               offer_tls ? " STARTTLS" : "", auth_ok ? " AUTH=PLAIN" : " LOGINDISABLED", tag);
    } else if (!strcasecmp(verb, "STARTTLS")) {
      if (!offer_tls) {
        snprintf(out, size, "%s BAD STARTTLS not available\r\n", tag);
      } else {
        snprintf(out, size, "%s OK Begin TLS negotiation now.\r\n", tag);
        *upgrade = 1;
      }
    } else if (!strcasecmp(verb, "LOGOUT")) {
      snprintf(out, size, "* BYE Logging out\r\n%s OK Logout completed.\r\n", tag);
      *end = 1;
    } else if (!strcasecmp(verb, "NOOP")) {
      snprintf(out, size, "%s OK NOOP completed.\r\n", tag);
    } else if (!strcasecmp(verb, "AUTHENTICATE")) {
      snprintf(c->auth_tag, sizeof c->auth_tag, "%s", tag);
      snprintf(out, size,
               auth_ok ? "+ \r\n"
                       : "%s NO [PRIVACYREQUIRED] Plaintext authentication disallowed on non-secure connections.\r\n",
               tag);
    } else {
      snprintf(out, size, "%s BAD Error in IMAP command\r\n", tag);
    }
    return;
  }
  sscanf(line, "%31s", verb);
  if (!strcmp(line, "*")) {
    snprintf(out, size, "-ERR Authentication aborted\r\n");
  } else if (!strcasecmp(verb, "AUTH")) {
    snprintf(out, size,
             auth_ok ? "+ \r\n" : "-ERR [AUTH] Plaintext authentication disallowed on non-secure connections.\r\n");
  } else if (!strcasecmp(verb, "CAPA")) {
    snprintf(out, size, "+OK\r\nTOP\r\nUIDL\r\nRESP-CODES\r\n%s%s.\r\n", offer_tls ? "STLS\r\n" : "",
             auth_ok ? "USER\r\nSASL PLAIN\r\n" : "");
  } else if (!strcasecmp(verb, "STLS")) {
    if (!offer_tls) {
      snprintf(out, size, "-ERR STLS not available\r\n");
    } else {
      snprintf(out, size, "+OK Begin TLS negotiation\r\n");
      *upgrade = 1;
    }
  } else if (!strcasecmp(verb, "QUIT")) {
    snprintf(out, size, "+OK Logging out.\r\n");
    *end = 1;
  } else {
    snprintf(out, size, "-ERR Unknown command\r\n");
  }
}

static void start_tls(struct conn *c) {
  c->ssl = SSL_new(context);
  SSL_set_fd(c->ssl, c->fd);
  SSL_set_accept_state(c->ssl);
  c->handshaking = 1;
}

static void readable(struct conn *c);

/* Advances the handshake; 0 while it goes on or once done, -1 when the connection is over. */
static int handshake(struct conn *c) {
  int r = SSL_do_handshake(c->ssl);
  if (r == 1) {
    c->handshaking = 0;
    c->secure = 1;
    watch(c, EPOLLIN);
    if (!c->greeted) {
      c->greeted = 1;
      if (send_text(c, greeting(c->service->protocol)) < 0) return -1;
    }
    return 0;
  }
  int error = SSL_get_error(c->ssl, r);
  if (error == SSL_ERROR_WANT_READ) {
    watch(c, EPOLLIN);
    return 0;
  }
  if (error == SSL_ERROR_WANT_WRITE) {
    watch(c, EPOLLOUT);
    return 0;
  }
  ERR_clear_error();
  return -1;
}

/* Handles whole lines of c->in; -1 when the connection is over. */
static int lines(struct conn *c) {
  char *newline;
  while ((newline = memchr(c->in, '\n', c->in_len))) {
    size_t used = (size_t)(newline - c->in) + 1;
    char line[2048];
    size_t len = used - 1;
    if (len > 0 && c->in[len - 1] == '\r') len--;
    memcpy(line, c->in, len);
    line[len] = 0;
    memmove(c->in, c->in + used, c->in_len - used);
    c->in_len -= used;
    char out[1024];
    int upgrade, end;
    answer(c, line, out, sizeof out, &upgrade, &end);
    if (send_text(c, out) < 0) return -1;
    if (end) {
      if (c->ssl) SSL_shutdown(c->ssl);
      shutdown(c->fd, SHUT_WR);
      return -1;
    }
    if (upgrade) {
      c->in_len = 0; /* what was pipelined after STARTTLS is dropped, as a correct server does */
      start_tls(c);
      return handshake(c);
    }
  }
  if (c->in_len == sizeof c->in) return -1; /* a line longer than any command */
  return 0;
}

static void readable(struct conn *c) {
  if (c->handshaking) {
    if (handshake(c) < 0) {
      drop(c);
      return;
    }
    if (c->handshaking) return;
  }
  for (;;) {
    ssize_t n;
    if (c->ssl) {
      int r = SSL_read(c->ssl, c->in + c->in_len, (int)(sizeof c->in - c->in_len));
      if (r <= 0) {
        int error = SSL_get_error(c->ssl, r);
        ERR_clear_error();
        if (error == SSL_ERROR_WANT_READ) return;
        drop(c);
        return;
      }
      n = r;
    } else {
      n = read(c->fd, c->in + c->in_len, sizeof c->in - c->in_len);
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
      if (n <= 0) {
        drop(c);
        return;
      }
    }
    c->in_len += (size_t)n;
    if (lines(c) < 0) {
      drop(c);
      return;
    }
    if (c->handshaking) return;
    if (!c->ssl) return; /* level-triggered: plaintext comes back when there is more */
  }
}

static void accept_all(struct service *s) {
  for (;;) {
    int fd = accept4(s->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct conn *c = calloc(1, sizeof *c);
    c->fd = fd;
    c->service = s;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ev);
    if (s->implicit) {
      start_tls(c);
      if (handshake(c) < 0) drop(c);
    } else {
      c->greeted = 1;
      if (send_text(c, greeting(s->protocol)) < 0) drop(c);
    }
  }
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: fleet-server CERT.pem KEY.pem\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  context = SSL_CTX_new(TLS_server_method());
  SSL_CTX_set_min_proto_version(context, TLS1_VERSION);
  SSL_CTX_set_cipher_list(context, "DEFAULT:@SECLEVEL=0");
  SSL_CTX_set_mode(context, SSL_MODE_RELEASE_BUFFERS);
  if (SSL_CTX_use_certificate_chain_file(context, argv[1]) != 1 ||
      SSL_CTX_use_PrivateKey_file(context, argv[2], SSL_FILETYPE_PEM) != 1) {
    ERR_print_errors_fp(stderr);
    return 1;
  }
  epoll_fd = epoll_create1(0);
  printf("[");
  for (size_t i = 0; i < SERVICES; i++) {
    struct service *s = &services[i];
    s->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_ANY)};
    socklen_t length = sizeof address;
    if (bind(s->fd, (struct sockaddr *)&address, length) < 0 || listen(s->fd, 4096) < 0 ||
        getsockname(s->fd, (struct sockaddr *)&address, &length) < 0) {
      perror("listen");
      return 1;
    }
    s->port = ntohs(address.sin_port);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = s};
    epoll_ctl(epoll_fd, EPOLL_CTL_ADD, s->fd, &ev);
    printf("%s{\"port\":%d,\"service\":\"%s\"}", i ? "," : "", s->port, s->name);
  }
  printf("]\n");
  fflush(stdout);
  struct epoll_event stdin_event = {.events = EPOLLIN, .data.ptr = &stdin_marker};
  epoll_ctl(epoll_fd, EPOLL_CTL_ADD, 0, &stdin_event);
  struct epoll_event events[256];
  for (;;) {
    int n = epoll_wait(epoll_fd, events, 256, -1);
    for (int i = 0; i < n; i++) {
      void *p = events[i].data.ptr;
      if (p == &stdin_marker) {
        char buffer[256];
        if (read(0, buffer, sizeof buffer) <= 0) return 0;
        continue;
      }
      struct service *s = NULL;
      for (size_t k = 0; k < SERVICES; k++)
        if (p == &services[k]) s = &services[k];
      if (s) {
        accept_all(s);
        continue;
      }
      readable((struct conn *)p);
    }
  }
}
