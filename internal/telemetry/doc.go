// Package telemetry owns what the library's OpenTelemetry instrumentation
// shares: the names of its metrics and attributes (listed for hosts in
// docs/observability.md), the bounded values of the result attribute, the
// bucket boundaries of its duration histograms, the fallback to the global
// providers and propagator, child spans that cost nothing when their
// parent is not recorded, and the instrument set of outbound service calls
// (token requests, Assignment and Grade Services, Names and Role
// Provisioning Services, deep linking responses).
//
// It is a package of its own, and an internal one, because five packages
// (launch, keys, services/token, the service clients, deeplink) record
// with one vocabulary, and hosts need none of it: each instrumented
// package takes the host's metric.MeterProvider, trace.TracerProvider and,
// for outbound calls, propagation.TextMapPropagator through options of its
// own, so a host imports only the OpenTelemetry API it already uses.
//
// Only the OpenTelemetry API (go.opentelemetry.io/otel, .../metric,
// .../trace) is imported here and by every library package: no SDK and no
// exporter is ever linked into a host through ltikit (a test checks it).
// With no provider configured, the global providers are no-ops and the
// instrumentation costs a few atomic loads per launch: instruments are
// resolved once, when a Tool or client is built, measurements are taken
// only when an instrument is enabled, and child spans only under a
// recorded parent.
//
// No attribute ever carries a state, nonce, browser secret, id_token,
// signature, access token, client assertion or login hint; metrics carry
// only bounded values (codes, operations, stages, message types, HTTP
// statuses), never an issuer, a URL or a user.
package telemetry
