// Package requestid is a Traefik local plugin (Yaegi): X-Request-Id on every request. It is the
// production twin of gateway/src/middlewares/requestId.ts, which the Node gateway runs for the
// same dynamic configuration (plugin: {requestid: {headerName: X-Request-Id}}).
package requestid

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
)

// Config is the middleware's dynamic configuration.
type Config struct {
	HeaderName string `json:"headerName,omitempty"`
}

// CreateConfig returns the defaults.
func CreateConfig() *Config {
	return &Config{HeaderName: "X-Request-Id"}
}

type requestID struct {
	next   http.Handler
	header string
}

// New builds the middleware.
func New(_ context.Context, next http.Handler, config *Config, _ string) (http.Handler, error) {
	header := config.HeaderName
	if header == "" {
		header = "X-Request-Id"
	}
	return &requestID{next: next, header: header}, nil
}

// acceptable mirrors requestId.ts: 1–200 visible ASCII characters, no space, no comma.
func acceptable(v string) bool {
	if len(v) == 0 || len(v) > 200 {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c < 0x21 || c > 0x7e || c == ',' {
			return false
		}
	}
	return true
}

func uuid4() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func (m *requestID) ServeHTTP(rw http.ResponseWriter, req *http.Request) {
	id := req.Header.Get(m.header)
	if !acceptable(id) {
		id = uuid4()
	}
	req.Header.Set(m.header, id)
	rw.Header().Set(m.header, id)
	m.next.ServeHTTP(rw, req)
}
