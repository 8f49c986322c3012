package oauth

import (
	"context"
	"time"
	"unicode/utf8"

	"github.com/ory/fosite"

	"github.com/connect-oss/connect/internal/errs"
	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/tenant"
)

// Client adapts a tenant client to fosite.Client.
type Client struct {
	Record *tenant.ClientRecord
}

func (c *Client) GetID() string                   { return c.Record.ClientID }
func (c *Client) GetHashedSecret() []byte         { return []byte(c.Record.SecretDigest) }
func (c *Client) GetRedirectURIs() []string       { return c.Record.RedirectURIs }
func (c *Client) GetGrantTypes() fosite.Arguments { return c.Record.GrantTypes }
func (c *Client) GetResponseTypes() fosite.Arguments {
	return fosite.Arguments{"code"}
}

// GetScopes lists what a client may request: the Connect scope "read", and
// the OpenID Connect scopes so standard OIDC libraries work unchanged.
func (c *Client) GetScopes() fosite.Arguments {
	return fosite.Arguments{ScopeRead, "openid", "profile", "email", "phone", "offline_access", "offline"}
}
func (c *Client) IsPublic() bool { return c.Record.Public }
func (c *Client) GetAudience() fosite.Arguments {
	return nil
}

// GetEffectiveLifespan applies the client's configured token lifetimes.
func (c *Client) GetEffectiveLifespan(_ fosite.GrantType, tt fosite.TokenType, fallback time.Duration) time.Duration {
	switch tt {
	case fosite.AccessToken:
		if c.Record.AccessTokenTTL > 0 {
			return c.Record.AccessTokenTTL
		}
	case fosite.RefreshToken:
		if c.Record.RefreshTokenTTL > 0 {
			return c.Record.RefreshTokenTTL
		}
	}
	return fallback
}

// Storage is fosite's storage on our database.
type Storage struct {
	db      *store.DB
	clients *tenant.ClientCache // client records for 10 s: the token endpoint is hot
	revs    *Revocations
	grace   time.Duration // refresh-token reuse grace (concurrent refreshes)
}

// GetClient implements fosite.ClientManager.
func (s *Storage) GetClient(ctx context.Context, id string) (fosite.Client, error) {
	if id == "" || len(id) > 200 || !utf8.ValidString(id) {
		return nil, fosite.ErrNotFound
	}
	rec, err := s.clients.Get(ctx, id)
	if errs.Is(err, errs.NotFound) {
		return nil, fosite.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return &Client{Record: rec}, nil
}

// ClientAssertionJWTValid implements fosite.ClientManager. We accept no
// client assertions (private_key_jwt), so no jti is ever known.
func (s *Storage) ClientAssertionJWTValid(context.Context, string) error { return nil }

// SetClientAssertionJWT implements fosite.ClientManager; see ClientAssertionJWTValid.
func (s *Storage) SetClientAssertionJWT(context.Context, string, time.Time) error { return nil }
