package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

// requestIDKey is the context key of the request id.
type requestIDKey struct{}

// requestIDFrom returns the request id middleware stored in ctx.
func requestIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// headerRequestID carries the request id, in and out.
const headerRequestID = "X-Request-Id"

// requestID gives every request an id: the incoming X-Request-Id when the
// connection comes from one of the trusted proxies (--trusted-proxies) and
// the id is short and plain (a load balancer's), otherwise a new random
// one, so a client cannot choose the id its requests are logged under.
// The id goes into the request context, where the logger finds it for
// every line logged while handling the request, and back in the
// X-Request-Id response header.
func requestID(proxies []*net.IPNet) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			id := ""
			if fromProxy(r, proxies) {
				id = r.Header.Get(headerRequestID)
			}
			if !plainID(id) {
				id = newRequestID()
			}
			c.Response().Header().Set(headerRequestID, id)
			c.SetRequest(r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id)))
			return next(c)
		}
	}
}

// fromProxy reports whether the connection of r comes from one of
// proxies: its peer address, never a header.
func fromProxy(r *http.Request, proxies []*net.IPNet) bool {
	if len(proxies) == 0 {
		return false
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return false
	}
	for _, n := range proxies {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}

func newRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// plainID accepts 1 to 64 letters, digits, '-' and '_'.
func plainID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// accessLog logs one line per request: method, path (never the query: it
// may carry state, nonce or hints), status, size, duration, request id and
// the client's address, c.RealIP(): the connection's, or through the
// --trusted-proxies only (Echo's IPExtractor, set in newApp), never from a
// header any client can send.
func accessLog(log *slog.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			if err != nil {
				// Let Echo render the error now, so the status is known.
				c.Error(err)
			}
			r, res := c.Request(), c.Response()
			level := slog.LevelInfo
			if res.Status >= http.StatusInternalServerError {
				level = slog.LevelError
			}
			logAttrs(r.Context(), log, level, "request",
				slog.String("method", r.Method),
				slog.String("path", r.URL.Path),
				slog.Int("status", res.Status),
				slog.Int64("bytes", res.Size),
				slog.Duration("duration", time.Since(start)),
				slog.String("remote", c.RealIP()))
			return nil
		}
	}
}

// logAttrs is log.LogAttrs for the lines every request writes (the access
// log, an accepted launch), without the caller's program counter: no
// handler of the tool records the source, and finding it is a walk of the
// stack for every line.
func logAttrs(ctx context.Context, log *slog.Logger, level slog.Level, msg string, attrs ...slog.Attr) {
	h := log.Handler()
	if !h.Enabled(ctx, level) {
		return
	}
	r := slog.NewRecord(time.Now(), level, msg, 0)
	r.AddAttrs(attrs...)
	_ = h.Handle(ctx, r)
}

// contextHandler adds the request id of the record's context to every
// record, so the library's own log lines (refused launches) carry it too.
type contextHandler struct{ slog.Handler }

func (h contextHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := requestIDFrom(ctx); id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

func (h contextHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return contextHandler{h.Handler.WithAttrs(attrs)}
}

func (h contextHandler) WithGroup(name string) slog.Handler {
	return contextHandler{h.Handler.WithGroup(name)}
}
