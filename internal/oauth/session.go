package oauth

import (
	"encoding/json"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/oauth2"
	"github.com/ory/fosite/token/jwt"
)

// User is the logged-in user a grant is issued for. The login pages (and the
// extid grant) fill it; the token endpoint turns it into access-token claims,
// so every token of one grant family carries the same user facts.
type User struct {
	ID             int64     `json:"id"`       // numeric userId (users.id)
	UniqueID       string    `json:"uniqueId"` // 32 hex
	Credential     string    `json:"credential"`
	CredentialType string    `json:"credentialType"` // A, B or D
	SessionID      string    `json:"sessionId"`      // login session; "" for extid grants
	AuthTime       time.Time `json:"authTime"`
	CustomerNumber int64     `json:"customerNumber"` // at the client's company, at issuance; 0 when none
	// OpenID Connect claims for the ID token (name, email, phone_number, ...).
	Claims map[string]any `json:"claims,omitempty"`
}

// Session is the fosite session of every grant we serve: the access-token JWT
// claims, the ID token claims for OpenID Connect, and the user.
type Session struct {
	*oauth2.JWTSession
	IDClaims  *jwt.IDTokenClaims `json:"idClaims"`
	IDHeaders *jwt.Headers       `json:"idHeaders"`
	User      *User              `json:"user,omitempty"`
}

func newSession() *Session {
	return &Session{
		JWTSession: &oauth2.JWTSession{
			JWTClaims: &jwt.JWTClaims{Extra: map[string]interface{}{}},
			JWTHeader: &jwt.Headers{Extra: map[string]interface{}{}},
			ExpiresAt: map[fosite.TokenType]time.Time{},
		},
		IDClaims:  &jwt.IDTokenClaims{Extra: map[string]interface{}{}},
		IDHeaders: &jwt.Headers{Extra: map[string]interface{}{}},
	}
}

// IDTokenClaims implements openid.Session.
func (s *Session) IDTokenClaims() *jwt.IDTokenClaims {
	if s.IDClaims == nil {
		s.IDClaims = &jwt.IDTokenClaims{Extra: map[string]interface{}{}}
	}
	return s.IDClaims
}

// IDTokenHeaders implements openid.Session.
func (s *Session) IDTokenHeaders() *jwt.Headers {
	if s.IDHeaders == nil {
		s.IDHeaders = &jwt.Headers{Extra: map[string]interface{}{}}
	}
	return s.IDHeaders
}

// Clone implements fosite.Session with a deep copy (a JSON round trip: the
// session is what we store anyway, so it must survive one).
func (s *Session) Clone() fosite.Session {
	if s == nil {
		return nil
	}
	b, err := json.Marshal(s)
	if err != nil {
		return newSession()
	}
	c := newSession()
	if err := json.Unmarshal(b, c); err != nil {
		return newSession()
	}
	return c
}

// ensure initialises the maps a decoded session may lack.
func (s *Session) ensure() {
	if s.JWTSession == nil {
		s.JWTSession = &oauth2.JWTSession{}
	}
	if s.JWTClaims == nil {
		s.JWTClaims = &jwt.JWTClaims{}
	}
	if s.JWTClaims.Extra == nil {
		s.JWTClaims.Extra = map[string]interface{}{}
	}
	if s.JWTHeader == nil {
		s.JWTHeader = &jwt.Headers{}
	}
	if s.JWTHeader.Extra == nil {
		s.JWTHeader.Extra = map[string]interface{}{}
	}
	if s.ExpiresAt == nil {
		s.ExpiresAt = map[fosite.TokenType]time.Time{}
	}
	s.IDTokenClaims()
	s.IDTokenHeaders()
	if s.IDClaims.Extra == nil {
		s.IDClaims.Extra = map[string]interface{}{}
	}
}
