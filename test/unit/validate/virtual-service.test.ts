import { test } from 'node:test';
import assert from 'node:assert/strict';
import { httpRoute, issuesOf, virtualService, type RuleCase } from '../../helpers/mesh.ts';

const dest = (host = 'reviews.default.svc.cluster.local', extra: Record<string, unknown> = {}) => ({ destination: { host, ...extra } });
const vs = (http: unknown[], extra: Record<string, unknown> = {}) => ({ hosts: ['reviews.example.com'], http, ...extra });

const cases: RuleCase[] = [
  // hosts, gateways, delegates
  { name: 'a simple route is valid', spec: vs([httpRoute()]), valid: true },
  { name: 'a short host name is valid', spec: { hosts: ['reviews'], http: [httpRoute()] }, valid: true },
  { name: 'a wildcard host is valid', spec: { hosts: ['*.example.com'], http: [httpRoute()] }, valid: true },
  { name: 'an IP host is valid', spec: { hosts: ['10.0.0.1'], http: [httpRoute()] }, valid: true },
  { name: 'host * is refused for the mesh', spec: { hosts: ['*'], http: [httpRoute()] }, valid: false, expect: /wildcard host \* is not allowed/ },
  { name: 'host * is allowed on a gateway', spec: { hosts: ['*'], gateways: ['istio-system/gw'], http: [httpRoute()] }, valid: true },
  { name: 'host * with mesh among the gateways is refused', spec: { hosts: ['*'], gateways: ['gw', 'mesh'], http: [httpRoute()] }, valid: false },
  // gateway-bound hosts: any wildcard domain, and with SNI routing Istio's generated outbound_.<port>_._.<host>
  { name: 'a partial wildcard host on a gateway is valid', spec: { hosts: ['*foo.example.com'], gateways: ['istio-system/gw'], http: [httpRoute()] }, valid: true },
  { name: 'a generated SNI host with port 9 is valid on a gateway', spec: { hosts: ['outbound_.9_._.foo.example.com'], gateways: ['ns1/gw'], tls: [{ match: [{ sniHosts: ['outbound_.9_._.foo.example.com'] }], route: [dest()] }] }, valid: true },
  { name: 'a generated SNI host without a port number is refused', spec: { hosts: ['outbound_.http_._.foo.example.com'], gateways: ['ns1/gw'], tls: [{ match: [{ sniHosts: ['outbound_.http_._.foo.example.com'] }], route: [dest()] }] }, valid: false, expect: /spec\.hosts\[0\]: domain name invalid \(label "http" invalid\)/ },
  { name: 'a generated SNI host with too few parts is refused', spec: { hosts: ['outbound_.80_.foo.com'], gateways: ['ns1/gw'], tls: [{ match: [{ sniHosts: ['outbound_.80_.foo.com'] }], route: [dest()] }] }, valid: false, expect: /outbound_\.<port>_\._\.<hostname>/ },
  { name: 'a generated SNI host on the mesh is refused', spec: { hosts: ['outbound_.80_._.foo.com'], tls: [{ match: [{ sniHosts: ['outbound_.80_._.foo.com'] }], route: [dest()] }] }, valid: false },
  { name: 'a generated SNI host without TLS routes is refused on a gateway', spec: { hosts: ['outbound_.80_._.foo.com'], gateways: ['ns1/gw'], http: [httpRoute()] }, valid: false },
  { name: 'a bad host label is refused', spec: { hosts: ['foo_bar.com'], http: [httpRoute()] }, valid: false, expect: /spec\.hosts\[0\]: domain name invalid/ },
  { name: 'an all-numeric top-level domain is refused', spec: { hosts: ['foo.123'], http: [httpRoute()] }, valid: false },
  { name: 'a host longer than 255 characters is refused', spec: { hosts: [`${'a'.repeat(60)}.`.repeat(5) + 'com'], http: [httpRoute()] }, valid: false },
  { name: 'duplicate hosts are refused', spec: { hosts: ['a.example.com', 'a.example.com'], http: [httpRoute()] }, valid: false, expect: /duplicate hosts/ },
  { name: 'overlapping wildcard hosts are refused', spec: { hosts: ['*.example.com', '*.foo.example.com'], http: [httpRoute()] }, valid: false, expect: /duplicate hosts/ },
  { name: 'a delegate (no hosts) is valid', spec: { http: [httpRoute()] }, valid: true },
  { name: 'a delegate with gateways is refused', spec: { gateways: ['gw'], http: [httpRoute()] }, valid: false, expect: /delegate/ },
  { name: 'a delegate with tcp routes is refused', spec: { tcp: [{ route: [dest()] }] }, valid: false, expect: /delegate/ },
  { name: 'a delegate route inside a delegate is refused', spec: { http: [{ delegate: { name: 'x' } }] }, valid: false, expect: /cannot contain delegate/ },
  { name: 'a root route with a delegate is valid', spec: vs([{ delegate: { name: 'reviews-delegate', namespace: 'default' } }]), valid: true },
  { name: 'a root route with a delegate and a route is refused', spec: vs([{ delegate: { name: 'd' }, ...httpRoute() }]), valid: false, expect: /root HTTP route/ },
  { name: 'no http, tcp or tls is refused', spec: { hosts: ['a.com'] }, valid: false, expect: /http, tcp or tls must be provided/ },
  { name: 'namespace/name gateways are valid', spec: vs([httpRoute()], { gateways: ['istio-system/ingress', 'mesh'] }), valid: true },
  { name: 'a gateway with a bad namespace is refused', spec: vs([httpRoute()], { gateways: ['Bad_NS/gw'] }), valid: false, expect: /invalid value for namespace/ },
  { name: 'a legacy dotted gateway name warns', spec: vs([httpRoute()], { gateways: ['gw.istio-system'] }), valid: true, warns: true, expect: /legacy gateway name/ },
  // route exclusivity
  { name: 'a route without route, redirect or directResponse is refused', spec: vs([{ timeout: '1s' }]), valid: false, expect: /route, redirect or directResponse is required/ },
  { name: 'route and redirect together are refused', spec: vs([httpRoute({ redirect: { uri: '/x' } })]), valid: false, expect: /both route and redirect/ },
  { name: 'redirect and directResponse together are refused', spec: vs([{ redirect: { uri: '/x' }, directResponse: { status: 200 } }]), valid: false },
  { name: 'route and directResponse together are refused', spec: vs([httpRoute({ directResponse: { status: 503 } })]), valid: false, expect: /both route and directResponse/ },
  { name: 'fault with a redirect is refused', spec: vs([{ redirect: { uri: '/x' }, fault: { abort: { httpStatus: 500 } } }]), valid: false },
  { name: 'rewrite with a redirect is refused', spec: vs([{ redirect: { uri: '/x' }, rewrite: { uri: '/y' } }]), valid: false },
  { name: 'a directResponse alone is valid', spec: vs([{ directResponse: { status: 503, body: { string: 'down' } } }]), valid: true },
  { name: 'a directResponse status below 200 is refused', spec: vs([{ directResponse: { status: 199 } }]), valid: false, expect: /HTTP status/ },
  { name: 'a directResponse body over 1MB is refused', spec: vs([{ directResponse: { status: 200, body: { string: 'x'.repeat(1024 * 1024 + 1) } } }]), valid: false },
  { name: 'a directResponse body over 100KB warns', spec: vs([{ directResponse: { status: 200, body: { string: 'x'.repeat(200 * 1024) } } }]), valid: true, warns: true },
  { name: 'directResponse body string and bytes together are refused', spec: vs([{ directResponse: { status: 200, body: { string: 'a', bytes: 'YQ==' } } }]), valid: false, expect: /only one of/ },
  // redirects
  { name: 'a redirect with only a scheme is valid', spec: vs([{ redirect: { scheme: 'https' } }]), valid: true },
  { name: 'an empty redirect is refused', spec: vs([{ redirect: {} }]), valid: false, expect: /redirect must specify/ },
  { name: 'a redirect code outside 3xx is refused', spec: vs([{ redirect: { uri: '/x', redirectCode: 200 } }]), valid: false, expect: /3xx/ },
  { name: 'a redirect scheme other than http(s) is refused', spec: vs([{ redirect: { scheme: 'ftp' } }]), valid: false },
  { name: 'a redirect with derivePort is valid', spec: vs([{ redirect: { derivePort: 'FROM_REQUEST_PORT' } }]), valid: true },
  { name: 'a redirect with port and derivePort is refused', spec: vs([{ redirect: { port: 8080, derivePort: 'FROM_REQUEST_PORT' } }]), valid: false },
  { name: 'a redirect with only prefixRewrite is valid', spec: vs([{ match: [{ uri: { prefix: '/old' } }], redirect: { prefixRewrite: '/new' } }]), valid: true },
  { name: 'prefixRewrite with scheme, derivePort and a 308 is valid', spec: vs([{ redirect: { prefixRewrite: '/v2', scheme: 'https', derivePort: 'FROM_PROTOCOL_DEFAULT', redirectCode: 308 } }]), valid: true },
  { name: 'uri and prefixRewrite together are refused', spec: vs([{ redirect: { uri: '/a', prefixRewrite: '/b' } }]), valid: false, expect: /^spec\.http\[0\]\.redirect: redirect may only contain one of uri or prefixRewrite$/m },
  { name: 'a redirect port out of range is refused', spec: vs([{ redirect: { port: 70000 } }]), valid: false },
  // destinations and weights
  { name: 'destination host * is refused', spec: vs([{ route: [dest('*')] }]), valid: false, expect: /invalid destination host/ },
  { name: 'an empty destination host is refused', spec: vs([{ route: [dest('')] }]), valid: false, expect: /empty domain name/ },
  { name: 'a missing destination is refused', spec: vs([{ route: [{ weight: 100 }] }]), valid: false, expect: /destination is required/ },
  { name: 'a subset that is not a DNS label is refused', spec: vs([{ route: [dest(undefined, { subset: 'v1.0' })] }]), valid: false, expect: /subset name is invalid/ },
  { name: 'a destination port 0 is refused', spec: vs([{ route: [dest(undefined, { port: { number: 0 } })] }]), valid: false },
  { name: 'a destination port 70000 is refused', spec: vs([{ route: [dest(undefined, { port: { number: 70000 } })] }]), valid: false },
  { name: 'weights 75/25 are valid', spec: vs([{ route: [{ ...dest(), weight: 75 }, { ...dest('b.com'), weight: 25 }] }]), valid: true },
  { name: 'weights that do not sum to 100 are valid (Istio normalises)', spec: vs([{ route: [{ ...dest(), weight: 10 }, { ...dest('b.com'), weight: 20 }] }]), valid: true },
  { name: 'a negative weight is refused', spec: vs([{ route: [{ ...dest(), weight: -1 }, { ...dest('b.com'), weight: 101 }] }]), valid: false, expect: /negative/ },
  { name: 'several destinations all weighing 0 are refused', spec: vs([{ route: [{ ...dest(), weight: 0 }, { ...dest('b.com'), weight: 0 }] }]), valid: false, expect: /total destination weight = 0/ },
  { name: 'a weight that is not an integer is refused', spec: vs([{ route: [{ ...dest(), weight: 50.5 }] }]), valid: false, expect: /integer/ },
  // durations
  { name: 'timeout 10s is valid', spec: vs([httpRoute({ timeout: '10s' })]), valid: true },
  { name: 'timeout 0.001s is valid', spec: vs([httpRoute({ timeout: '0.001s' })]), valid: true },
  { name: 'timeout 0s is refused', spec: vs([httpRoute({ timeout: '0s' })]), valid: false, expect: /at least 1ms/ },
  { name: 'timeout 0.0005s is refused', spec: vs([httpRoute({ timeout: '0.0005s' })]), valid: false },
  { name: 'timeout with sub-millisecond precision is refused', spec: vs([httpRoute({ timeout: '1.0001s' })]), valid: false, expect: /ms precision/ },
  { name: 'timeout 1m is not a protobuf duration', spec: vs([httpRoute({ timeout: '1m' })]), valid: false, expect: /protobuf duration/ },
  { name: 'a negative timeout is refused', spec: vs([httpRoute({ timeout: '-1s' })]), valid: false },
  { name: 'a numeric timeout is refused', spec: vs([httpRoute({ timeout: 10 })]), valid: false, expect: /must be a string/ },
  // retries
  { name: 'retries with known policies are valid', spec: vs([httpRoute({ retries: { attempts: 3, perTryTimeout: '2s', retryOn: 'gateway-error,connect-failure,refused-stream,503' } })]), valid: true },
  { name: 'a gRPC retryOn policy is valid', spec: vs([httpRoute({ retries: { attempts: 1, retryOn: 'cancelled,deadline-exceeded,unavailable' } })]), valid: true },
  { name: 'an unknown retryOn policy is refused', spec: vs([httpRoute({ retries: { attempts: 3, retryOn: '5xx,bogus' } })]), valid: false, expect: /"bogus" is not a valid retryOn policy/ },
  { name: 'a retryOn with a space is refused, as in Istio', spec: vs([httpRoute({ retries: { attempts: 3, retryOn: '5xx, reset' } })]), valid: false },
  { name: 'a retryOn status code Go does not name is refused', spec: vs([httpRoute({ retries: { attempts: 3, retryOn: '599' } })]), valid: false },
  { name: 'negative attempts are refused', spec: vs([httpRoute({ retries: { attempts: -1 } })]), valid: false, expect: /negative/ },
  { name: 'attempts 0 with a retryOn is refused', spec: vs([httpRoute({ retries: { attempts: 0, retryOn: '5xx' } })]), valid: false, expect: /attempts are set to 0/ },
  { name: 'attempts 0 alone is valid (retries disabled)', spec: vs([httpRoute({ retries: { attempts: 0 } })]), valid: true },
  { name: 'a perTryTimeout under 1ms is refused', spec: vs([httpRoute({ retries: { attempts: 1, perTryTimeout: '0.0001s' } })]), valid: false },
  // retry backoff: Istio's duration rule like every other duration field
  { name: 'a retry backoff of 25ms is valid', spec: vs([httpRoute({ retries: { attempts: 3, backoff: '0.025s' } })]), valid: true },
  { name: 'a retry backoff of 0s is refused', spec: vs([httpRoute({ retries: { attempts: 3, backoff: '0s' } })]), valid: false, expect: /^spec\.http\[0\]\.retries\.backoff: duration must be at least 1ms/m },
  { name: 'a retry backoff with sub-ms precision is refused', spec: vs([httpRoute({ retries: { attempts: 3, backoff: '0.0255s' } })]), valid: false, expect: /retries\.backoff: only durations to ms precision/ },
  { name: 'a retry backoff in Go form (25ms) is not a protobuf duration', spec: vs([httpRoute({ retries: { attempts: 3, backoff: '25ms' } })]), valid: false, expect: /retries\.backoff: not a protobuf duration/ },
  { name: 'a fixed delay of 1m is not a protobuf duration', spec: vs([httpRoute({ fault: { delay: { fixedDelay: '1m', percentage: { value: 10 } } } })]), valid: false, expect: /fault\.delay\.fixedDelay: not a protobuf duration/ },
  { name: 'a CORS maxAge of 1.5s is refused (seconds precision)', spec: vs([httpRoute({ corsPolicy: { allowOrigins: [{ exact: 'https://a.com' }], maxAge: '1.5s' } })]), valid: false, expect: /max_age/ },
  // faults
  { name: 'an abort with a status is valid', spec: vs([httpRoute({ fault: { abort: { httpStatus: 503, percentage: { value: 10 } } } })]), valid: true },
  { name: 'a delay is valid', spec: vs([httpRoute({ fault: { delay: { fixedDelay: '5s', percentage: { value: 0.1 } } } })]), valid: true },
  { name: 'an empty fault is refused', spec: vs([httpRoute({ fault: {} })]), valid: false, expect: /abort and\/or a delay/ },
  { name: 'an abort status 100 is refused', spec: vs([httpRoute({ fault: { abort: { httpStatus: 100 } } })]), valid: false },
  { name: 'an abort status 601 is refused', spec: vs([httpRoute({ fault: { abort: { httpStatus: 601 } } })]), valid: false },
  { name: 'an abort percentage over 100 is refused', spec: vs([httpRoute({ fault: { abort: { httpStatus: 500, percentage: { value: 101 } } } })]), valid: false },
  { name: 'a delay percentage under 0.0001 is refused', spec: vs([httpRoute({ fault: { delay: { fixedDelay: '1s', percentage: { value: 0.00001 } } } })]), valid: false },
  { name: 'a delay percentage of 0 is valid', spec: vs([httpRoute({ fault: { delay: { fixedDelay: '1s', percentage: { value: 0 } } } })]), valid: true },
  { name: 'an abort with a known gRPC status is valid', spec: vs([httpRoute({ fault: { abort: { grpcStatus: 'UNAVAILABLE' } } })]), valid: true },
  { name: 'an abort with an unknown gRPC status is refused', spec: vs([httpRoute({ fault: { abort: { grpcStatus: 'BROKEN' } } })]), valid: false },
  { name: 'an abort with an HTTP/2 error is refused (not supported)', spec: vs([httpRoute({ fault: { abort: { http2Error: 'x' } } })]), valid: false },
  { name: 'an abort with no error type warns', spec: vs([httpRoute({ fault: { abort: { percentage: { value: 1 } } } })]), valid: true, warns: true },
  { name: 'an exponential delay is refused (not supported)', spec: vs([httpRoute({ fault: { delay: { exponentialDelay: '1s' } } })]), valid: false },
  { name: 'a fixed delay of 0s is refused', spec: vs([httpRoute({ fault: { delay: { fixedDelay: '0s' } } })]), valid: false },
  // matches and regexes
  { name: 'exact, prefix and RE2 regex matches are valid', spec: vs([httpRoute({ match: [{ uri: { prefix: '/api' }, method: { exact: 'GET' }, authority: { regex: '.*\\.example\\.com' }, headers: { 'x-user': { exact: 'jason' } }, queryParams: { v: { regex: '^[0-9]+$' } }, scheme: { exact: 'https' } }] })]), valid: true },
  { name: 'an empty uri prefix is valid', spec: vs([httpRoute({ match: [{ uri: { prefix: '' } }] })]), valid: true },
  { name: 'an empty method prefix is refused', spec: vs([httpRoute({ match: [{ method: { prefix: '' } }] })]), valid: false, expect: /prefix string match should not be empty/ },
  { name: 'an empty regex is refused', spec: vs([httpRoute({ match: [{ uri: { regex: '' } }] })]), valid: false, expect: /regex string match should not be empty/ },
  { name: 'a lookahead regex is refused (not RE2)', spec: vs([httpRoute({ match: [{ uri: { regex: '^/(?=api)' } }] })]), valid: false, expect: /RE2/ },
  { name: 'a backreference regex is refused (not RE2)', spec: vs([httpRoute({ match: [{ headers: { cookie: { regex: '(a)\\1' } } }] })]), valid: false, expect: /RE2/ },
  { name: 'an unbalanced regex is refused', spec: vs([httpRoute({ match: [{ queryParams: { q: { regex: '(' } } }] })]), valid: false },
  { name: 'a regex longer than 1024 characters is refused', spec: vs([httpRoute({ match: [{ uri: { regex: 'a'.repeat(1025) } }] })]), valid: false, expect: /too large/ },
  { name: 'a string match with exact and prefix is refused', spec: vs([httpRoute({ match: [{ uri: { exact: '/a', prefix: '/b' } }] })]), valid: false, expect: /only one of exact, prefix, regex/ },
  { name: 'an invalid header name is refused', spec: vs([httpRoute({ match: [{ headers: { 'x:bad': { exact: 'a' } } }] })]), valid: false, expect: /not a valid header name/ },
  // header names in matches: pseudo-headers and RFC 7230 token characters, as Istio
  { name: 'a match on the :authority pseudo-header is valid', spec: vs([httpRoute({ match: [{ headers: { ':authority': { exact: 'a.com' } } }] })]), valid: true },
  { name: 'a match on :method and :path is valid', spec: vs([httpRoute({ match: [{ headers: { ':method': { exact: 'OPTIONS' }, ':path': { prefix: '/a' } } }] })]), valid: true },
  { name: 'a withoutHeaders on :scheme is valid', spec: vs([httpRoute({ match: [{ withoutHeaders: { ':scheme': { exact: 'http' } } }] })]), valid: true },
  { name: 'an unknown pseudo-header is refused', spec: vs([httpRoute({ match: [{ headers: { ':uri': { exact: '/a' } } }] })]), valid: false, expect: /headers\[":uri"\]: not a valid header name/ },
  { name: 'a header name with token characters (dot, tilde, !) is valid', spec: vs([httpRoute({ match: [{ headers: { 'foo.id': { exact: 'a' }, 'x~y!z': { exact: 'b' } } }] })]), valid: true },
  { name: 'a header name with a space is refused', spec: vs([httpRoute({ match: [{ headers: { 'x y': { exact: 'a' } } }] })]), valid: false, expect: /not a valid header name/ },
  { name: 'a header name with a slash is refused', spec: vs([httpRoute({ match: [{ withoutHeaders: { 'x/y': { exact: 'a' } } }] })]), valid: false },
  { name: 'setting :method in a request is refused (only the authority may be set)', spec: vs([httpRoute({ headers: { request: { set: { ':method': 'POST' } } } })]), valid: false, expect: /":" prefix/ },
  { name: 'a CORS header with token characters is valid', spec: vs([httpRoute({ corsPolicy: { allowOrigins: [{ exact: 'https://a.com' }], allowHeaders: ['x.custom', '*'], exposeHeaders: ['x~y'] } })]), valid: true },
  { name: 'a CORS header with a space is refused', spec: vs([httpRoute({ corsPolicy: { allowOrigins: [{ exact: 'https://a.com' }], allowHeaders: ['x custom'] } })]), valid: false, expect: /corsPolicy\.allowHeaders\[0\]: not a valid header name/ },
  { name: 'a null header match is refused', spec: vs([httpRoute({ match: [{ headers: { 'x-a': null } }] })]), valid: false, expect: /cannot be null/ },
  { name: 'withoutHeaders regex * is a presence match, not RE2', spec: vs([httpRoute({ match: [{ withoutHeaders: { 'x-a': { regex: '*' } } }] })]), valid: true },
  { name: 'a JWT claim header match without a gateway is refused', spec: vs([httpRoute({ match: [{ headers: { '@request.auth.claims.sub': { exact: 'a' } } }] })]), valid: false, expect: /JWT claim/ },
  { name: 'a JWT claim header match on a gateway is valid', spec: vs([httpRoute({ match: [{ headers: { '@request.auth.claims.sub': { exact: 'a' } } }] })], { gateways: ['istio-system/gw'] }), valid: true },
  { name: 'a match port of 0 is ignored', spec: vs([httpRoute({ match: [{ port: 0 }] })]), valid: true },
  { name: 'bad source labels are refused', spec: vs([httpRoute({ match: [{ sourceLabels: { 'bad key!': 'v' } }] })]), valid: false, expect: /invalid label key/ },
  { name: 'a bad sourceNamespace is refused', spec: vs([httpRoute({ match: [{ sourceNamespace: 'Not_A_Namespace' }] })]), valid: false },
  // rewrite, headers, mirror, cors
  { name: 'a uri rewrite is valid', spec: vs([httpRoute({ rewrite: { uri: '/v2' } })]), valid: true },
  { name: 'an empty rewrite is refused', spec: vs([httpRoute({ rewrite: {} })]), valid: false },
  { name: 'uri and uriRegexRewrite together are refused', spec: vs([httpRoute({ rewrite: { uri: '/a', uriRegexRewrite: { match: 'a', rewrite: 'b' } } })]), valid: false },
  { name: 'a uriRegexRewrite without rewrite is refused', spec: vs([httpRoute({ rewrite: { uriRegexRewrite: { match: '^/a' } } })]), valid: false },
  { name: 'a uriRegexRewrite with a non-RE2 match is refused', spec: vs([httpRoute({ rewrite: { uriRegexRewrite: { match: '(?!a)', rewrite: '/' } } })]), valid: false },
  { name: 'header operations are valid', spec: vs([httpRoute({ headers: { request: { set: { 'x-a': 'b', ':authority': 'c.com' }, add: { 'x-b': '%HOSTNAME%' }, remove: ['x-c'] }, response: { set: { 'x-d': '100%%' } } } })]), valid: true },
  { name: 'setting the Host header in a response is refused', spec: vs([httpRoute({ headers: { response: { set: { host: 'a' } } } })]), valid: false },
  { name: 'removing :path is refused', spec: vs([httpRoute({ headers: { request: { remove: [':path'] } } })]), valid: false },
  { name: 'setting :path is refused', spec: vs([httpRoute({ headers: { request: { set: { ':path': '/a' } } } })]), valid: false, expect: /":" prefix/ },
  { name: 'an un-escaped % in a header value is refused', spec: vs([httpRoute({ headers: { request: { set: { 'x-a': 'abc%' } } } })]), valid: false },
  { name: 'an unterminated %VAR in a header value is refused', spec: vs([httpRoute({ headers: { request: { add: { 'x-a': '%START_TIME' } } } })]), valid: false },
  { name: 'a header value with a newline is refused', spec: vs([httpRoute({ headers: { request: { add: { 'x-a': 'a\nb' } } } })]), valid: false },
  { name: 'authority rewritten twice is refused', spec: vs([httpRoute({ rewrite: { authority: 'a.com' }, headers: { request: { set: { host: 'b.com' } } } })]), valid: false, expect: /authority header cannot be set multiple times/ },
  { name: 'destination header operations are checked', spec: vs([{ route: [{ ...dest(), headers: { response: { remove: ['host'] } } }] }]), valid: false },
  { name: 'a mirror with a percentage is valid', spec: vs([httpRoute({ mirror: { host: 'mirror.default.svc.cluster.local' }, mirrorPercentage: { value: 50 } })]), valid: true },
  { name: 'a mirrorPercentage over 100 is refused', spec: vs([httpRoute({ mirror: { host: 'm.com' }, mirrorPercentage: { value: 101 } })]), valid: false },
  { name: 'mirror and mirrors together are refused', spec: vs([httpRoute({ mirror: { host: 'm.com' }, mirrors: [{ destination: { host: 'n.com' } }] })]), valid: false },
  { name: 'mirrors without a destination are refused', spec: vs([httpRoute({ mirrors: [{ percentage: { value: 5 } }] })]), valid: false },
  { name: 'the deprecated mirrorPercent warns', spec: vs([httpRoute({ mirror: { host: 'm.com' }, mirrorPercent: 5 })]), valid: true, warns: true },
  { name: 'a CORS policy is valid', spec: vs([httpRoute({ corsPolicy: { allowOrigins: [{ exact: 'https://a.com' }, { regex: 'https://.*\\.b\\.com' }], allowMethods: ['GET', 'POST'], allowHeaders: ['x-a', '*'], maxAge: '86400s', allowCredentials: true } })]), valid: true },
  { name: 'a CORS method that is not HTTP is refused', spec: vs([httpRoute({ corsPolicy: { allowMethods: ['GETS'] } })]), valid: false },
  { name: 'a CORS maxAge with sub-second precision is refused', spec: vs([httpRoute({ corsPolicy: { maxAge: '1.5s' } })]), valid: false },
  { name: 'a CORS origin with an empty match is refused', spec: vs([httpRoute({ corsPolicy: { allowOrigins: [{ exact: '' }] } })]), valid: false },
  // tls and tcp
  { name: 'a TLS route with SNI within the hosts is valid', spec: { hosts: ['*.example.com'], tls: [{ match: [{ sniHosts: ['a.example.com'], port: 443 }], route: [{ destination: { host: 'a.example.com', port: { number: 443 } } }] }] }, valid: true },
  { name: 'an SNI host outside the hosts is refused', spec: { hosts: ['a.example.com'], tls: [{ match: [{ sniHosts: ['b.example.com'] }], route: [dest()] }] }, valid: false, expect: /not a compatible subset/ },
  { name: 'a TLS route without a match is refused', spec: { hosts: ['a.example.com'], tls: [{ route: [dest()] }] }, valid: false },
  { name: 'a TLS match without SNI hosts is refused', spec: { hosts: ['a.example.com'], tls: [{ match: [{ port: 443 }], route: [dest()] }] }, valid: false },
  { name: 'a TLS route without destinations is refused', spec: { hosts: ['a.example.com'], tls: [{ match: [{ sniHosts: ['a.example.com'] }] }] }, valid: false },
  { name: 'a TCP route is valid', spec: { hosts: ['db.example.com'], tcp: [{ match: [{ port: 5432, destinationSubnets: ['10.0.0.0/8'] }], route: [{ destination: { host: 'db.example.com', port: { number: 5432 } } }] }] }, valid: true },
  { name: 'a TCP route without destinations is refused', spec: { hosts: ['db.example.com'], tcp: [{ match: [{ port: 5432 }] }] }, valid: false },
  { name: 'a bad TCP destination subnet is refused', spec: { hosts: ['db.example.com'], tcp: [{ match: [{ destinationSubnets: ['10.0.0.0/33'] }], route: [dest()] }] }, valid: false },
  { name: 'a TCP match port over 65535 is refused', spec: { hosts: ['db.example.com'], tcp: [{ match: [{ port: 65536 }], route: [dest()] }] }, valid: false },
  // exportTo
  { name: 'exportTo . and a namespace is valid', spec: vs([httpRoute()], { exportTo: ['.', 'other'] }), valid: true },
  { name: 'exportTo . and the own namespace is a duplicate', spec: vs([httpRoute()], { exportTo: ['.', 'default'] }), valid: false },
  { name: 'exportTo * with others is refused', spec: vs([httpRoute()], { exportTo: ['*', 'a'] }), valid: false },
  { name: 'exportTo ~ is refused for a VirtualService', spec: vs([httpRoute()], { exportTo: ['~'] }), valid: false },
  // unreachable rules
  { name: 'a rule after a match-all rule warns', spec: vs([httpRoute(), httpRoute({ match: [{ uri: { prefix: '/a' } }] }), httpRoute()]), valid: true, warns: true, expect: /only the last rule can have no matches/ },
  { name: 'a duplicate match warns', spec: vs([httpRoute({ match: [{ uri: { prefix: '/a' } }] }), httpRoute({ match: [{ name: 'again', uri: { prefix: '/a' } }] })]), valid: true, warns: true, expect: /all matches used by prior rules/ },
  // structure
  { name: 'hosts as a string is a type error', spec: { hosts: 'a.com', http: [httpRoute()] }, valid: false, expect: /spec\.hosts: must be a list/ },
  { name: 'http as an object is a type error', spec: { hosts: ['a.com'], http: {} }, valid: false },
  { name: 'a null http route is refused', spec: { hosts: ['a.com'], http: [null] }, valid: false, expect: /may not be null/ },
  { name: 'a spec that is a list is a type error', spec: [], valid: false, expect: /spec: must be an object/ },
  { name: 'an unknown field warns but passes', spec: vs([httpRoute({ timout: '1s' })]), valid: true, warns: true, expect: /unknown field/ },
];

for (const c of cases) {
  test(`VirtualService: ${c.name}`, () => {
    const { errors, warnings } = issuesOf(virtualService(c.spec));
    if (c.valid) assert.deepEqual(errors, [], 'expected no errors');
    else assert.ok(errors.length > 0, 'expected errors');
    if (c.warns !== undefined) assert.equal(warnings.length > 0, c.warns, `warnings: ${warnings.join('; ')}`);
    if (c.expect) assert.match((c.valid ? warnings : errors).join('\n'), c.expect);
  });
}

test('VirtualService: every error is reported at once, each with its path and value', () => {
  const { errors } = issuesOf(virtualService(vs([httpRoute({ timeout: '0s', retries: { attempts: -1 } }), { route: [dest('*')] }])));
  assert.ok(errors.includes('spec.http[0].timeout: duration must be at least 1ms ("0s")'), errors.join('\n'));
  assert.ok(errors.some((e) => e.startsWith('spec.http[0].retries.attempts:')));
  assert.ok(errors.some((e) => e.startsWith('spec.http[1].route[0].destination.host:')));
});

test('VirtualService: the three API versions are validated alike', () => {
  for (const version of ['v1alpha3', 'v1beta1', 'v1']) {
    const { errors } = issuesOf(virtualService(vs([httpRoute({ timeout: '0s' })]), {}, version));
    assert.equal(errors.length, 1, version);
  }
});

test('VirtualService: the dry-run annotation is refused, as Istio refuses it outside AuthorizationPolicy', () => {
  const { errors } = issuesOf(virtualService(vs([httpRoute()]), { annotations: { 'istio.io/dry-run': 'true' } }));
  assert.equal(errors.length, 1);
});

// Cases after Istio's own table for ValidateVirtualService: validity and whether a warning is expected.
const istioCases: Array<{ name: string; spec: unknown; valid: boolean; warning: boolean }> = [
  { name: 'simple', spec: { hosts: ['foo.bar'], http: [{ route: [dest('foo.baz')] }] }, valid: true, warning: false },
  { name: 'allow SNI-based domains on a gateway', spec: { hosts: ['outbound_.15010_._.istiod.istio-system.svc.cluster.local'], gateways: ['ns1/gateway'], tls: [{ match: [{ sniHosts: ['outbound_.15010_._.istiod.istio-system.svc.cluster.local'] }], route: [dest('istio.istio-system.svc.cluster.local')] }] }, valid: true, warning: false },
  { name: 'destination without a host', spec: { hosts: ['*.foo.bar'], http: [{ route: [{ destination: {} }] }] }, valid: false, warning: false },
  { name: 'bad host', spec: { hosts: ['foo.ba!r'], http: [{ route: [dest('foo.baz')] }] }, valid: false, warning: false },
  { name: 'bad gateway', spec: { hosts: ['foo.bar'], gateways: ['b@dgateway'], http: [{ route: [dest('foo.baz')] }] }, valid: false, warning: false },
  { name: 'FQDN for gateway', spec: { hosts: ['foo.bar'], gateways: ['gateway.example.com'], http: [{ route: [dest('foo.baz')] }] }, valid: true, warning: true },
  { name: 'namespace/* for gateway', spec: { hosts: ['foo.bar'], gateways: ['ns1/*'], http: [{ route: [dest('foo.baz')] }] }, valid: false, warning: false },
  { name: '*/name for gateway', spec: { hosts: ['foo.bar'], gateways: ['*/gateway'], http: [{ route: [dest('foo.baz')] }] }, valid: false, warning: false },
  { name: 'wildcard for a non-mesh gateway', spec: { hosts: ['*'], gateways: ['somegateway'], http: [{ route: [dest('foo.baz')] }] }, valid: true, warning: false },
  { name: 'missing tls route', spec: { hosts: ['foo.bar'], tls: [{ match: [{ port: 999, sniHosts: ['foo.bar'] }] }] }, valid: false, warning: false },
  { name: 'set authority', spec: { hosts: ['foo.bar'], http: [{ headers: { request: { set: { ':authority': 'foo' } } }, route: [dest('foo.baz')] }] }, valid: true, warning: false },
  { name: 'set authority in a destination', spec: { hosts: ['foo.bar'], http: [{ route: [{ ...dest('foo.baz'), headers: { request: { set: { ':authority': 'foo' } } } }] }] }, valid: true, warning: false },
  { name: 'a broader prefix earlier shadows a longer one (method defaults to GET)', spec: { hosts: ['foo.bar'], http: [{ route: [dest('foo.baz')], match: [{ uri: { prefix: '/api/v1/product' } }, { uri: { prefix: '/api/v1/products' }, method: { exact: 'GET' } }] }] }, valid: true, warning: true },
  { name: 'an exact uri after a prefix is not shadowed', spec: { hosts: ['foo.bar'], http: [{ route: [dest('foo.baz')], match: [{ uri: { prefix: '/' } }, { uri: { exact: '/' }, method: { exact: 'GET' } }] }] }, valid: true, warning: false },
  { name: 'a longer prefix with another method is not shadowed', spec: { hosts: ['foo.bar'], http: [{ route: [dest('foo.baz')], match: [{ uri: { prefix: '/api' } }, { uri: { prefix: '/api/v2' }, method: { exact: 'POST' } }] }] }, valid: true, warning: false },
  { name: 'IP address as SNI host', spec: { hosts: ['foo.bar'], tls: [{ route: [dest('foo.baz')], match: [{ port: 999, sniHosts: ['1.1.1.1'] }] }] }, valid: true, warning: true },
  { name: 'invalid wildcard as SNI host', spec: { hosts: ['foo.bar'], tls: [{ route: [dest('foo.baz')], match: [{ port: 999, sniHosts: ['foo.*.com'] }] }] }, valid: false, warning: false },
  { name: 'a match list with a null element', spec: { hosts: ['foo.bar'], http: [{ route: [dest('foo.bar')], match: [null] }] }, valid: true, warning: false },
  { name: 'a delegate with sourceNamespace', spec: { http: [{ match: [{ sourceNamespace: 'test' }], route: [dest('foo.baz')] }] }, valid: true, warning: false },
];

for (const c of istioCases) {
  test(`VirtualService (Istio's table): ${c.name}`, () => {
    const { errors, warnings } = issuesOf(virtualService(c.spec));
    assert.equal(errors.length === 0, c.valid, errors.join('\n'));
    assert.equal(warnings.length > 0, c.warning, warnings.join('\n'));
  });
}
