// originalDst(fd): the destination a connection had before an iptables REDIRECT, read with getsockopt.
// Node exposes no getsockopt, hence this addon. Plain node_api.h (ABI-stable across Node versions, no extra
// dependency). Returns [family, address, port], or undefined when the socket was not redirected (ENOENT), the
// option is unknown on this platform, or fd is not a socket: the caller treats every one of those as "no answer".
#include <node_api.h>

#ifdef __linux__
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <cstring>

// From <linux/netfilter_ipv4.h> and <linux/netfilter_ipv6/ip6_tables.h>; spelled out because those headers clash
// with the libc ones.
#ifndef SO_ORIGINAL_DST
#define SO_ORIGINAL_DST 80
#endif
#ifndef IP6T_SO_ORIGINAL_DST
#define IP6T_SO_ORIGINAL_DST 80
#endif
#endif

static napi_value Undefined(napi_env env) {
  napi_value result;
  napi_get_undefined(env, &result);
  return result;
}

static napi_value OriginalDst(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok || argc < 1) return Undefined(env);
  int32_t fd = -1;
  if (napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) return Undefined(env);
#ifdef __linux__
  // The socket's own family decides which option to ask: an IPv6 listener gets IPv6 (or v4-mapped) connections.
  struct sockaddr_storage local;
  socklen_t localLen = sizeof(local);
  if (getsockname(fd, reinterpret_cast<struct sockaddr*>(&local), &localLen) != 0) return Undefined(env);

  struct sockaddr_storage dst;
  std::memset(&dst, 0, sizeof(dst));
  socklen_t len = sizeof(dst);
  int family = 0;
  char text[INET6_ADDRSTRLEN] = {0};
  uint16_t port = 0;
  if (local.ss_family == AF_INET6) {
    // IPv4 traffic on a dual-stack socket is NATed by iptables, not ip6tables: try IPv4 first, then IPv6.
    struct sockaddr_in* v4 = reinterpret_cast<struct sockaddr_in*>(&dst);
    if (getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, v4, &len) == 0 && v4->sin_family == AF_INET) {
      family = 4;
      inet_ntop(AF_INET, &v4->sin_addr, text, sizeof(text));
      port = ntohs(v4->sin_port);
    } else {
      len = sizeof(dst);
      struct sockaddr_in6* v6 = reinterpret_cast<struct sockaddr_in6*>(&dst);
      if (getsockopt(fd, SOL_IPV6, IP6T_SO_ORIGINAL_DST, v6, &len) != 0) return Undefined(env);
      family = 6;
      inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof(text));
      port = ntohs(v6->sin6_port);
    }
  } else if (local.ss_family == AF_INET) {
    struct sockaddr_in* v4 = reinterpret_cast<struct sockaddr_in*>(&dst);
    if (getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, v4, &len) != 0) return Undefined(env);
    family = 4;
    inet_ntop(AF_INET, &v4->sin_addr, text, sizeof(text));
    port = ntohs(v4->sin_port);
  } else {
    return Undefined(env);
  }

  napi_value result, familyValue, addressValue, portValue;
  if (napi_create_array_with_length(env, 3, &result) != napi_ok) return Undefined(env);
  napi_create_int32(env, family, &familyValue);
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &addressValue);
  napi_create_int32(env, port, &portValue);
  napi_set_element(env, result, 0, familyValue);
  napi_set_element(env, result, 1, addressValue);
  napi_set_element(env, result, 2, portValue);
  return result;
#else
  return Undefined(env);
#endif
}

static napi_value Init(napi_env env, napi_value exports) {
  napi_value fn;
  if (napi_create_function(env, "originalDst", NAPI_AUTO_LENGTH, OriginalDst, nullptr, &fn) != napi_ok) return nullptr;
  napi_set_named_property(env, exports, "originalDst", fn);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
