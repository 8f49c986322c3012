package event

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// CheckWebhookURL refuses URLs a delivery must not go to: anything but an
// absolute http(s) URL, and the server's own base URLs (self), which would
// turn every event into a request against ourselves.
func CheckWebhookURL(raw string, self []string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return fmt.Errorf("webhook URL must be an absolute http(s) URL")
	}
	if u.User != nil {
		return fmt.Errorf("webhook URL must not carry credentials")
	}
	host, port := hostPort(u)
	for _, s := range self {
		su, err := url.Parse(s)
		if err != nil || su.Hostname() == "" {
			continue
		}
		sh, sp := hostPort(su)
		if port == sp && sameHost(host, sh) {
			return fmt.Errorf("webhook URL points at this server (%s)", su.Host)
		}
	}
	return nil
}

func hostPort(u *url.URL) (string, string) {
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	return strings.ToLower(strings.TrimSuffix(u.Hostname(), ".")), port
}

// sameHost treats every loopback spelling (and a wildcard listen address) as
// one host, so http://localhost:8080 is caught for a server on 127.0.0.1:8080.
func sameHost(a, b string) bool {
	if a == b {
		return true
	}
	return isLocal(a) && isLocal(b)
}

func isLocal(h string) bool {
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && (ip.IsLoopback() || ip.IsUnspecified())
}
