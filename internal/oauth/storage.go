package oauth

import (
	"context"
	"time"

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
func (c *Client) GetScopes() fosite.Arguments {
	return fosite.Arguments{ScopeRead, "openid", "offline_access", "offline"}
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
	db *store.DB
}

// GetClient implements fosite.ClientManager.
func (s *Storage) GetClient(ctx context.Context, id string) (fosite.Client, error) {
	if id == "" || len(id) > 200 {
		return nil, fosite.ErrNotFound
	}
	rec, err := tenant.GetClient(ctx, s.db, id)
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

// CreateAccessTokenSession implements oauth2.AccessTokenStorage. Access tokens
// are self-contained signed JWTs checked without the database, so nothing is
// stored per token; revocation goes through the revocation list by jti.
func (s *Storage) CreateAccessTokenSession(context.Context, string, fosite.Requester) error {
	return nil
}

// GetAccessTokenSession implements oauth2.AccessTokenStorage; see CreateAccessTokenSession.
func (s *Storage) GetAccessTokenSession(context.Context, string, fosite.Session) (fosite.Requester, error) {
	return nil, fosite.ErrNotFound
}

// DeleteAccessTokenSession implements oauth2.AccessTokenStorage; see CreateAccessTokenSession.
func (s *Storage) DeleteAccessTokenSession(context.Context, string) error { return nil }
