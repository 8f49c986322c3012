package server

import (
	"net/http"

	"github.com/connect-oss/connect/internal/identity"
)

// connectIDHandlers are ConnectID's handlers; each is unavailable() when the
// dependencies are missing (Routes is also called without them, to list routes).
type connectIDHandlers struct {
	authorize, revoke, introspect, userinfo, discovery                     http.Handler
	loginPage, loginSubmit, createUser, loginCheck, logout, reset, account http.Handler
	mailbox                                                                http.Handler
	profile, externalProfiles, legacyProfile, credentialCheck              http.Handler
	extidRegister, extidCustomer                                           http.Handler
}

func connectID(d Deps) connectIDHandlers {
	u := unavailable()
	h := connectIDHandlers{u, u, u, u, u, u, u, u, u, u, u, u, u, u, u, u, u, u, u}
	if d.OAuth != nil {
		h.revoke, h.introspect, h.discovery = d.OAuth.RevocationEndpoint(), d.OAuth.IntrospectionEndpoint(), d.OAuth.Discovery()
	}
	if d.Identity != nil {
		api := identity.Handlers{S: d.Identity}
		h.userinfo, h.profile, h.externalProfiles, h.legacyProfile = api.Userinfo(), api.Profile(), api.ExternalProfiles(), api.LegacyProfile()
		h.credentialCheck, h.extidRegister, h.extidCustomer = api.CredentialCheck(), api.ExtIDRegister(), api.ExtIDCustomerRegister()
	}
	if p := d.Pages; p != nil {
		h.authorize, h.loginPage, h.loginSubmit, h.createUser = p.Authorize(), p.LoginPage(), p.LoginSubmit(), p.CreateUser()
		h.loginCheck, h.logout, h.reset, h.account, h.mailbox = p.LoginCheck(), p.Logout(), p.Reset(), p.Account(), p.Mailbox()
	}
	return h
}
