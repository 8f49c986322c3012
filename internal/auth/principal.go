// Package auth turns a bearer token into a Principal: who is calling, for
// which company, in which mode. Authorization is decided from the Principal
// alone; handlers never read tokens.
package auth

import (
	"context"
	"time"
)

// Mode is the kind of token: a client acting for its company, or a logged-in user.
type Mode string

const (
	ClientMode Mode = "client"
	UserMode   Mode = "user"
)

// Principal is the authenticated caller of an API request.
type Principal struct {
	Mode        Mode
	CompanyID   int64
	CompanyCode string
	ClientID    string // the OAuth client that obtained the token
	// User mode only.
	UserID         string // the user's uniqueId
	UserNumber     int64  // the user's numeric userId
	CustomerNumber int64  // the user's customer at CompanyID; 0 when none was linked at issuance
	Scopes         []string
	TokenID        string // jti
	ExpiresAt      time.Time
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the request's Principal, or nil on unauthenticated routes.
func FromContext(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}

// Claim names of our access tokens, beside the registered ones (iss, sub, exp, iat, jti).
const (
	ClaimMode           = "mode"
	ClaimCompanyID      = "cid"
	ClaimCompanyCode    = "cmp"
	ClaimClientID       = "client_id"
	ClaimUserNumber     = "unum"
	ClaimCustomerNumber = "cno"
	ClaimScopes         = "scp"
)
