package subscription

import (
	"context"
	"net/netip"
	"strings"

	"github.com/connect-oss/connect/internal/store"
)

// Entitlement is one precomputed grant of a customer.
type Entitlement struct {
	Product    string
	Level      string // A own, B shared, C nets
	Source     string
	ValidFrom  int64
	ValidUntil int64 // exclusive; 0 = open
}

func (e Entitlement) validAt(ms int64) bool {
	return e.ValidFrom <= ms && (e.ValidUntil == 0 || ms < e.ValidUntil)
}

// better reports whether e is a better grant to report than o: open (type A)
// before bounded (type B), then the later end.
func (e Entitlement) better(o Entitlement) bool {
	if (e.ValidUntil == 0) != (o.ValidUntil == 0) {
		return e.ValidUntil == 0
	}
	return e.ValidUntil > o.ValidUntil
}

// loadEntitlements is the hot path's one indexed lookup.
func loadEntitlements(ctx context.Context, q store.Queryer, companyID, customer int64) ([]Entitlement, error) {
	rows, err := q.QueryContext(ctx, `SELECT product_code, level, source, valid_from, COALESCE(valid_until, 0)
		FROM entitlements WHERE company_id = $1 AND customer_number = $2`, companyID, customer)
	if err != nil {
		return nil, store.Translate(err)
	}
	defer rows.Close()
	var out []Entitlement
	for rows.Next() {
		var e Entitlement
		if err := rows.Scan(&e.Product, &e.Level, &e.Source, &e.ValidFrom, &e.ValidUntil); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// ipKey is the 32-hex-digit form of an address (IPv4 mapped into IPv6), the
// stored form of share net ranges.
func ipKey(a netip.Addr) string {
	b := a.As16()
	const hex = "0123456789abcdef"
	out := make([]byte, 32)
	for i, c := range b {
		out[2*i], out[2*i+1] = hex[c>>4], hex[c&15]
	}
	return string(out)
}

// netSource prefixes the owner's customer number in the Source of a net grant.
const netSource = "n"

// netGrants returns the level-C grants for an IP address and/or e-mail
// domains: nets of subscriptions whose owner's own entitlement still holds.
func netGrants(ctx context.Context, q store.Queryer, companyID int64, ip netip.Addr, domains []string) ([]Entitlement, error) {
	var out []Entitlement
	scan := func(query string, args ...any) error {
		rows, err := q.QueryContext(ctx, query, args...)
		if err != nil {
			return store.Translate(err)
		}
		defer rows.Close()
		for rows.Next() {
			e := Entitlement{Level: "C"}
			var owner int64
			if err := rows.Scan(&e.Product, &e.ValidFrom, &e.ValidUntil, &owner); err != nil {
				return err
			}
			e.Source = netSource + itoa(owner)
			out = append(out, e)
		}
		return rows.Err()
	}
	const sel = `SELECT e.product_code, e.valid_from, COALESCE(e.valid_until, 0), n.owner_customer FROM share_nets n
		JOIN entitlements e ON e.company_id = n.company_id AND e.customer_number = n.owner_customer
			AND e.level = 'A' AND e.source = 's' || CAST(n.subscription_id AS TEXT)
		WHERE n.company_id = $1 `
	if ip.IsValid() {
		k := ipKey(ip)
		if err := scan(sel+`AND n.net_type = 'ip' AND n.ip_from <= $2 AND n.ip_to >= $2`, companyID, k); err != nil {
			return nil, err
		}
	}
	for _, d := range domains {
		// The domain and each parent: a net on example.no covers news.example.no.
		d = strings.ToLower(strings.TrimSuffix(d, "."))
		for d != "" {
			if err := scan(sel+`AND n.net_type = 'domain' AND n.value = $2`, companyID, d); err != nil {
				return nil, err
			}
			_, rest, ok := strings.Cut(d, ".")
			if !ok || !strings.Contains(rest, ".") {
				break
			}
			d = rest
		}
	}
	return out, nil
}
