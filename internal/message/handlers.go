package message

import (
	"database/sql"
	"net/http"

	"github.com/connect-oss/connect/internal/auth"
	"github.com/connect-oss/connect/internal/customer"
	"github.com/connect-oss/connect/internal/errs"
	"github.com/connect-oss/connect/internal/httpx"
	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/subscription"
)

// Handlers serves the Message and Status groups of the Diverse area.
type Handlers struct {
	DB *store.DB
}

// userCustomer is the caller's customer, 0 when the user has none.
func userCustomer(r *http.Request, q store.Queryer, p *auth.Principal) (int64, error) {
	n, err := customer.NumberFor(r.Context(), q, p)
	if errs.Is(err, errs.NotFound) {
		return 0, nil
	}
	return n, err
}

// List is message-list: the user's thread; empty without a customer.
func (h Handlers) List() http.Handler {
	return httpx.Handle(func(r *http.Request, p *auth.Principal) (any, error) {
		n, err := userCustomer(r, h.DB, p)
		if err != nil || n == 0 {
			return Thread{Messages: []Message{}}, err
		}
		msgs, err := ListFor(r.Context(), h.DB, p.CompanyID, n)
		return Thread{Messages: msgs}, err
	})
}

// Send is message-send: the logged-in customer writes to customer service.
func (h Handlers) Send() http.Handler {
	return httpx.Handle(func(r *http.Request, p *auth.Principal) (any, error) {
		var req SendRequest
		if err := httpx.Decode(r, &req); err != nil {
			return nil, err
		}
		if req.CustomerNumber != nil {
			return nil, errs.Field("customerNumber", "not allowed in user mode: the message is the logged-in customer's")
		}
		m, err := req.validate(true)
		if err != nil {
			return nil, err
		}
		var res Thread
		err = h.DB.Tx(r.Context(), func(tx *sql.Tx) error {
			n, err := customer.NumberFor(r.Context(), tx, p)
			if err != nil {
				return err
			}
			// The token names the customer it was issued for; it must still exist.
			if _, err := customer.IDOf(r.Context(), tx, p.CompanyID, n); errs.Is(err, errs.NotFound) {
				return errs.E(errs.NotFound, "no customer linked to user")
			} else if err != nil {
				return err
			}
			res, err = send(r.Context(), tx, p.CompanyID, p.CompanyCode, p.ClientID, n, m, subscription.Now(r.Context()))
			return err
		})
		return res, err
	})
}

// SendClient is message-send-client: a message on behalf of one of the
// company's customers; another company's customer number is 404.
func (h Handlers) SendClient() http.Handler {
	return httpx.Handle(func(r *http.Request, p *auth.Principal) (any, error) {
		var req SendRequest
		if err := httpx.Decode(r, &req); err != nil {
			return nil, err
		}
		if req.CustomerNumber == nil {
			return nil, errs.Field("customerNumber", "required")
		}
		if *req.CustomerNumber <= 0 {
			return nil, errs.Field("customerNumber", "must be a positive whole number")
		}
		m, err := req.validate(false)
		if err != nil {
			return nil, err
		}
		var res Thread
		err = h.DB.Tx(r.Context(), func(tx *sql.Tx) error {
			if _, err := customer.IDOf(r.Context(), tx, p.CompanyID, *req.CustomerNumber); err != nil {
				return err
			}
			res, err = send(r.Context(), tx, p.CompanyID, p.CompanyCode, p.ClientID, *req.CustomerNumber, m, subscription.Now(r.Context()))
			return err
		})
		return res, err
	})
}

// StatusList is status-message-list: the notices active now that are meant
// for the caller (untargeted ones only without a customer).
func (h Handlers) StatusList() http.Handler {
	return httpx.Handle(func(r *http.Request, p *auth.Principal) (any, error) {
		n, err := userCustomer(r, h.DB, p)
		if err != nil {
			return nil, err
		}
		return statusFor(r.Context(), h.DB, p.CompanyID, n, subscription.Now(r.Context()))
	})
}
