package web

import (
	"context"
	"log/slog"
)

// LogKeyRequestID is the log attribute that carries a request's id.
const LogKeyRequestID = "request_id"

type requestIDKey struct{}

// WithRequestID returns ctx carrying a request's id: every line logged
// with it through a LogHandler carries the id, and the frame uses it
// instead of making one (app.Serve names the requests it tracks in flight,
// to audit one cut at shutdown, as the logs and audit records do). Never
// taken from the client.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestIDFrom is the request id ctx carries ("" outside a request).
func RequestIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// LogHandler wraps h so that a record logged with a request's context
// (InfoContext(ctx, ...) anywhere below the handler: access, sts, saml,
// the store) carries request_id, unless the line names one itself. The
// frame's middleware puts the id into every request's context; app wraps
// the broker's logger with it.
func LogHandler(h slog.Handler) slog.Handler {
	if _, ok := h.(requestIDHandler); ok {
		return h
	}
	return requestIDHandler{h: h}
}

type requestIDHandler struct{ h slog.Handler }

func (r requestIDHandler) Enabled(ctx context.Context, l slog.Level) bool { return r.h.Enabled(ctx, l) }

func (r requestIDHandler) Handle(ctx context.Context, rec slog.Record) error {
	if id := RequestIDFrom(ctx); id != "" && !hasRequestID(rec) {
		rec = rec.Clone()
		rec.AddAttrs(slog.String(LogKeyRequestID, id))
	}
	return r.h.Handle(ctx, rec)
}

func (r requestIDHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return requestIDHandler{h: r.h.WithAttrs(as)}
}

func (r requestIDHandler) WithGroup(name string) slog.Handler {
	return requestIDHandler{h: r.h.WithGroup(name)}
}

func hasRequestID(rec slog.Record) bool {
	found := false
	rec.Attrs(func(a slog.Attr) bool {
		found = a.Key == LogKeyRequestID
		return !found
	})
	return found
}
